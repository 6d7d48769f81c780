"""Site training in a built bundle, run the way the app's train dialog runs it.

    python3 packaging/train_check.py dist/medeid ARCHIVE [--labels CSV] [--steps reid=2,...]

Why: the dialog (ui/train_dialog.py) starts ``medeid ml train FOLDER --progress json`` as a child
process; frozen, the program is the bundle's ``medeid`` executable beside the app's, not Python
(viewmodel/train_run.cli_program).  This builds the command with that same function as if
started from ``BUNDLE/medeid-gui``, runs the dry run and then the training in a clean environment
(fresh HOME, no PYTHONPATH, a temporary user models folder), reads the JSON progress with the
dialog's own parser, and checks that a model was installed, verifies, carries its held-out
evaluation, and that the bundle's ``--version`` lists it.  Prints the wall time of each run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medeid_gui.ml.model_registry import verify_folder  # noqa: E402
from medeid_gui.viewmodel.train_run import TrainOptions, TrainRun, cli_environment, train_command  # noqa: E402


def run_cli(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[TrainRun, int, float, str]:
    """Run ``cmd`` feeding stdout to a ``TrainRun`` as it arrives; (run, exit status, seconds, stderr)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    run = TrainRun()
    assert proc.stdout is not None
    for line in proc.stdout:
        run.feed(line)
    run.finish()
    err = proc.stderr.read() if proc.stderr else ""
    return run, proc.wait(), time.monotonic() - t0, err


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("archive", type=Path, help="a folder of DICOM files")
    ap.add_argument("--labels", default="")
    ap.add_argument("--steps", default="reid=2,idmap=2,ssl=2,mdl=2,comp=2")
    a = ap.parse_args()
    bundle = a.bundle.resolve()
    gui = bundle / ("medeid-gui.exe" if sys.platform == "win32" else "medeid-gui")
    extra = ("--seg-steps", "1", "--eval-attack-steps", "5", "--eval-task-epochs", "1")
    extra += ("--labels", str(Path(a.labels).resolve())) if a.labels else ()
    opts = TrainOptions(min_patients=2, steps=a.steps, threads=1, extra=extra)
    work = Path(tempfile.mkdtemp(prefix="medeid-train-check-"))
    (work / "home").mkdir()
    base = {"PATH": "/usr/bin:/bin", "HOME": str(work / "home"), "LANG": "C.UTF-8",
            "MEDEID_USER_MODELS": str(work / "models"), "OMP_NUM_THREADS": "1"}
    env = cli_environment(base, frozen=True)
    folder = a.archive.resolve()
    dry = train_command(folder, opts, dry_run=True, frozen=True, executable=str(gui))
    print("command:", " ".join(dry))
    plan_run, rc, secs, err = run_cli(dry, env, work)
    if rc != 0 or plan_run.plan is None:
        print(f"dry run failed (exit {rc}):\n{err[-3000:]}")
        return 1
    print(f"plan in {secs:.1f} s: {plan_run.plan.summary}")
    for d in plan_run.plan.domains:
        print("  ", d.line)
    run, rc, secs, err = run_cli(train_command(folder, opts, frozen=True, executable=str(gui)), env, work)
    print(f"training: exit {rc} in {secs:.1f} s; models {run.models}; failed {run.failed}")
    if rc != 0 or not run.models:
        print(err[-3000:])
        return 1
    for m in run.models:
        manifest = verify_folder(Path(m))
        print(f"  {m}: verified; evaluation: {manifest.get('evaluation')}")
        print("  files:", ", ".join(sorted(manifest["files"])))
    version = subprocess.run([str(bundle / "medeid"), "--version"], capture_output=True, text=True,
                             env=env, cwd=work, timeout=300)
    listed = [ln for ln in version.stdout.splitlines() if ln.startswith("model ") and "site model, verified" in ln]
    print("--version:", *listed, sep="\n  ")
    return 0 if version.returncode == 0 and listed else 1


if __name__ == "__main__":
    raise SystemExit(main())
