"""The export on a Dask cluster (issue 17): same bytes as the local pool, worker and client kills.

Real Dask (``distributed``) clusters of worker processes, real DICOM files, real SIGKILLs. One
LocalCluster is shared by the in-process tests through its ``tcp://`` address (a cluster the
command did not start); the CLI tests use ``--cluster local:2`` (started and stopped by it).
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import copy_inputs, data_file, replicate, tree

pytest.importorskip("distributed")

from distributed import Client, LocalCluster

from medeid_gui.export.atomic import TMP_MARK
from medeid_gui.export.cluster import parse_address
from medeid_gui.export.config import ExportError
from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.progress import ProgressEvent
from medeid_gui.export.rundb import run_dir_for

ROOT = Path(__file__).resolve().parents[2]
PIXEL_NAMES = ("CT_small.dcm", "MR_small.dcm")  # two single-frame images for --privacy


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalCluster, Client]]:
    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40)
    client = Client(c)
    try:
        yield c, client
    finally:
        client.close()
        c.close()


def _cfg(inp: Path, out: Path, env: dict[str, Path], **kw: object) -> ExportConfig:
    return ExportConfig(input=inp, output=out, key_file=env["key"], ledger=env["ledger"],
                        state_dir=env["state"], burned_in="off", **kw)  # type: ignore[arg-type]


def _manifest(out: Path, env: dict[str, Path]) -> list[dict[str, str]]:
    """The manifest rows without the time columns (which differ from run to run by nature)."""
    path = run_dir_for(out, env["state"]) / "manifest.csv"
    if not path.exists():
        path = next(run_dir_for(out, env["state"]).glob("*.csv"))
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: v for k, v in r.items() if "time" not in k} for r in rows]


def test_address_parsing() -> None:
    assert parse_address("local:3").local_workers == 3
    assert parse_address("tls://h:8786").tls and not parse_address("tcp://h:8786").tls
    for bad in ("local:0", "local:x", "h:8786", "http://h"):
        with pytest.raises(ExportError):
            parse_address(bad)


@pytest.mark.parametrize("privacy", [0.0, 0.5])
def test_cluster_output_is_byte_identical_to_the_pool(
    tmp_path: Path, env: dict[str, Path], cluster: tuple[LocalCluster, Client], privacy: float
) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, PIXEL_NAMES if privacy else ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "US1_UNCR.dcm",
                                                  "SC_rgb.dcm", "emri_small.dcm", "JPEG2000.dcm"))
    pool = run_export(_cfg(inp, tmp_path / "pool", env, workers=2, privacy=privacy))
    events: list[ProgressEvent] = []
    dask = run_export(_cfg(inp, tmp_path / "dask", env, workers=2, privacy=privacy,
                           cluster=cluster[0].scheduler_address), progress=events.append)
    assert pool.failed == dask.failed == 0 and pool.exported == dask.exported > 0
    assert tree(tmp_path / "dask") == tree(tmp_path / "pool")
    assert _manifest(tmp_path / "dask", env) == _manifest(tmp_path / "pool", env)
    exports = [e for e in events if e.phase == "export"]
    assert exports[-1].done == exports[-1].total == dask.exported  # the same progress as the pool's


def test_a_bad_file_is_one_failed_row(tmp_path: Path, env: dict[str, Path],
                                      cluster: tuple[LocalCluster, Client]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm"))
    bad = inp / "bad" / "broken.dcm"
    bad.parent.mkdir()
    bad.write_bytes(data_file("rtdose.dcm").read_bytes()[:2000])  # a DICOM file cut short
    s = run_export(_cfg(inp, tmp_path / "out", env, cluster=cluster[0].scheduler_address))
    assert (s.exported, s.failed) == (2, 1), s.failures
    assert [p for p, _ in s.failures] == [str(bad)]
    rows = _manifest(tmp_path / "out", env)
    assert sum(r["status"] == "failed" for r in rows) == 1


def test_worker_sigkilled_mid_run_gives_the_same_output(
    tmp_path: Path, env: dict[str, Path], cluster: tuple[LocalCluster, Client]
) -> None:
    inp = tmp_path / "in"
    replicate(inp, 192)  # 6 units of 32 files: the kill lands while other units are out
    ref = run_export(_cfg(inp, tmp_path / "ref", env, workers=1))
    client = cluster[1]
    before = client.run(os.getpid)
    killed: list[int] = []

    def kill_one(ev: ProgressEvent) -> None:
        if ev.phase == "export" and ev.done >= 1 and not killed:
            pid = sorted(before.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    s = run_export(_cfg(inp, tmp_path / "out", env, cluster=cluster[0].scheduler_address), progress=kill_one)
    assert killed and killed[0] not in client.run(os.getpid).values()  # that process is gone
    assert s.failed == 0 and s.exported == ref.exported == 192
    assert tree(tmp_path / "out") == tree(tmp_path / "ref")
    assert not [p for p in (tmp_path / "out").rglob(f"{TMP_MARK}*")]


def _cli(inp: Path, out: Path, env: dict[str, Path], *extra: str) -> list[str]:
    return [sys.executable, "-m", "medeid_gui", "export", str(inp), str(out), "--burned-in", "off",
            "--key-file", str(env["key"]), "--ledger", str(env["ledger"]), "--state-dir", str(env["state"]), *extra]


def test_client_sigkilled_then_rerun_is_identical(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    replicate(inp, 192)  # 6 units of 32 files
    assert run_export(_cfg(inp, tmp_path / "ref", env, workers=1)).exported == 192
    out = tmp_path / "out"
    proc = subprocess.Popen(_cli(inp, out, env, "--cluster", "local:2", "--json"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        saw_dashboard = False
        for line in proc.stdout:  # JSON progress lines, as the pool's
            saw_dashboard |= '"phase": "cluster"' in line and "dask dashboard" in line
            if '"phase": "export"' in line and '"done": 0,' not in line:
                break
        else:
            pytest.fail("the cluster export ended before it could be killed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client, its LocalCluster and its workers
        proc.wait()
    assert saw_dashboard
    partial = sum(1 for _ in out.rglob("*.dcm"))
    assert 0 < partial < 192
    again = subprocess.run(_cli(inp, out, env, "--cluster", "local:2"), cwd=ROOT, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already done by an earlier run" in again.stdout
    assert tree(out) == tree(tmp_path / "ref")


def test_plain_export_does_not_import_dask(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm",))
    code = (
        "import sys\n"
        "from medeid_gui.export.pipeline import ExportConfig, run_export\n"
        f"s = run_export(ExportConfig(input={str(inp)!r}, output={str(tmp_path / 'out')!r}, "
        f"key_file={str(env['key'])!r}, ledger={str(env['ledger'])!r}, state_dir={str(env['state'])!r}, "
        "workers=1, burned_in='off'))\n"
        "assert s.exported == 1\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_key_is_never_sent_over_plain_tcp(tmp_path: Path, env: dict[str, Path],
                                          cluster: tuple[LocalCluster, Client]) -> None:
    """Workers that cannot read the key file get no key over tcp://: the run is refused."""
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.export.cluster import _key_transport

    key = ProjectKey.load_or_create(env["key"])
    client = cluster[1]
    addr = parse_address(cluster[0].scheduler_address)
    assert _key_transport(client, addr, str(env["key"]), key.fingerprint) == ""  # read from the file
    missing = str(tmp_path / "not-on-the-workers.key")
    with pytest.raises(ExportError, match="never sent over plain tcp"):
        _key_transport(client, addr, missing, key.fingerprint)


def test_pixel_units_go_to_workers_with_a_gpu_resource(
    tmp_path: Path, env: dict[str, Path], cluster: tuple[LocalCluster, Client]
) -> None:
    """With --privacy, a cluster where one worker declares ``GPU`` sends every unit there."""
    from distributed import get_task_stream

    client = cluster[1]
    first, *_ = sorted(client.scheduler_info()["workers"])

    async def declare(dask_worker: object, n: int) -> None:
        await dask_worker.set_resources(GPU=n)  # type: ignore[attr-defined]

    client.run(declare, n=1, workers=[first])
    try:
        inp = tmp_path / "in"
        replicate(inp, 12)  # 3 units of 4 files
        with get_task_stream(client) as ts:
            s = run_export(_cfg(inp, tmp_path / "out", env, privacy=0.5, cluster=cluster[0].scheduler_address))
        assert s.exported == 12 and s.failed == 0
        ran = {t["worker"] for t in ts.data if str(t["key"]).startswith("run_unit")}
        assert ran == {first}
    finally:
        client.run(declare, n=0, workers=[first])


def test_cli_refuses_a_malformed_cluster_address(tmp_path: Path, env: dict[str, Path]) -> None:
    inp = tmp_path / "in"
    copy_inputs(inp, ("CT_small.dcm",))
    done = subprocess.run(_cli(inp, tmp_path / "out", env, "--cluster", "host:8786"), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--cluster must be" in done.stderr
    assert not (tmp_path / "out").exists()


def test_over_tls_the_key_is_sent_when_workers_cannot_read_it(tmp_path: Path, env: dict[str, Path]) -> None:
    """A TLS cluster (temporary certificates): a worker without the key file gets the key bytes
    and writes the same output bytes as the local pool."""
    pytest.importorskip("cryptography")
    import dask
    from distributed.security import Security

    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.export.cluster import _key_transport, run_unit
    from medeid_gui.export.worker import Task, WorkerSetup

    inp = tmp_path / "in"
    files = copy_inputs(inp, ("CT_small.dcm", "MR_small.dcm"))
    ref = run_export(_cfg(inp, tmp_path / "ref", env, workers=1))
    assert ref.exported == 2
    key = ProjectKey.from_file(env["key"])
    sec = Security.temporary()
    pem = tmp_path / "tls.pem"
    pem.write_text(sec.tls_ca_file)
    conf = {"distributed.comm.tls.ca-file": str(pem), "distributed.comm.tls.client.cert": str(pem),
            "distributed.comm.tls.scheduler.cert": str(pem), "distributed.comm.tls.worker.cert": str(pem)}
    with dask.config.set(conf), LocalCluster(n_workers=1, processes=True, protocol="tls://", security=sec,
                                             dashboard_address=None, silence_logs=40) as c, Client(c) as client:
        addr = parse_address(c.scheduler_address)
        assert addr.tls
        assert _key_transport(client, addr, str(env["key"]), key.fingerprint) == ""  # readable: path only
        assert _key_transport(client, addr, str(env["key"]), "0" * 16) == key.secret.hex()  # not theirs: sent
        out = tmp_path / "out"
        setup = WorkerSetup(DeidConfig(), str(tmp_path / "not-on-the-worker.key"), str(out))  # as the export's
        tasks = [Task(str(p), p.stat().st_size) for p in files]
        results = client.submit(run_unit, "tls-run", setup, key.secret.hex(), tasks, pure=False).result()
    assert [r.status for r in results] == ["exported", "exported"]
    assert tree(out) == tree(tmp_path / "ref")
