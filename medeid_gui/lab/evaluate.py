"""Privacy–utility evaluation of registered transforms (``medeid ml evaluate``).

Why this shape: every method (the project's own and the baselines) is judged by the same
procedure on the same data, and the run is long enough on a CPU that it must survive being
stopped. Procedure (../shared/design/METHOD.md, "Evaluation protocol"):

1. Generate (or reuse) the cohort in the work dir; load train and test splits at the stored
   resolution (the transform sees what the app would see), models work at ``work_size``.
2. Originals: train the attacker with several seeds on original pairs, verification AUC on the
   test patients; train the three task models once on original training images.
3. For each method and level p: transform the train and test splits, *retrain* the attacker on
   (original, transformed) training pairs with the same seeds, verification AUC on (original,
   transformed) test pairs; score the task models on the transformed test images.
4. Write ``evaluation.json``, ``EVALUATION.md`` and ``evaluation.png`` (attacker AUC vs utility).

Resumable: every (method, level) result is cached under ``WORK/cache/<fingerprint>/``, where the
fingerprint covers everything that changes the numbers (cohort config and generator version,
attacker and task settings, seeds). Identical transformed data (e.g. every method at p = 0)
reuses the originals' result instead of retraining.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from medeid_gui.lab.attacker import AttackerConfig
from medeid_gui.lab.tasks import TaskConfig

DEFAULT_LEVELS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


@dataclass
class EvalConfig:
    patients: int = 200
    studies_per_patient: int = 4
    cohort_seed: int = 0
    size: int = 256
    work_size: int = 128
    attacker_seeds: tuple[int, ...] = (0, 1, 2)
    attacker: AttackerConfig = field(default_factory=AttackerConfig)
    tasks: TaskConfig = field(default_factory=TaskConfig)
    task_seed: int = 0
    transform_seed: int = 1234

    def fingerprint(self) -> str:
        from medeid_gui.lab.cohort import GENERATOR_VERSION

        blob = json.dumps({**asdict(self), "generator": GENERATOR_VERSION, "protocol": 1},
                          sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def to_json(self) -> dict:
        return asdict(self)


def _levels_key(p: float) -> str:
    return f"{p:.3f}"


def _hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


class Evaluation:
    """One evaluation work dir: the cohort, the trained task models and the result cache."""

    def __init__(self, work: str | Path, config: EvalConfig = EvalConfig(), *, dev=None,
                 log=print) -> None:
        self.work = Path(work)
        self.config = config
        self.log = log
        self.dev_name = dev
        self.cache = self.work / "cache" / config.fingerprint()
        self._data = None
        self._tasks = None

    # ------------------------------------------------------------------ data and models
    @property
    def cohort_dir(self) -> Path:
        c = self.config
        return self.work / f"cohort_p{c.patients}_s{c.studies_per_patient}_seed{c.cohort_seed}_{c.size}"

    def ensure_cohort(self) -> Path:
        from medeid_gui.lab.cohort import GENERATOR_VERSION, CohortConfig, generate_cohort

        c = self.config
        cfg = CohortConfig(patients=c.patients, studies_per_patient=c.studies_per_patient,
                           seed=c.cohort_seed, size=c.size)
        meta = self.cohort_dir / "cohort.json"
        if meta.exists():
            m = json.loads(meta.read_text())
            if m.get("generator_version") == GENERATOR_VERSION and m.get("config") == json.loads(
                    json.dumps(asdict(cfg))):
                return self.cohort_dir
        self.log(f"generating cohort {cfg} in {self.cohort_dir}")
        info = generate_cohort(self.cohort_dir, cfg)
        self.log(f"cohort: {info.n_images} images in {info.seconds:.0f} s")
        return self.cohort_dir

    def data(self):
        if self._data is None:
            from medeid_gui.lab.cohort import area_resize, load_split

            root = self.ensure_cohort()
            tr, te = load_split(root, "train"), load_split(root, "test")
            ws = self.config.work_size
            self._data = {
                "train": tr, "test": te,
                "train_w": area_resize(tr.images, ws).astype(np.float32),
                "test_w": area_resize(te.images, ws).astype(np.float32),
                "train_masks_w": (area_resize(tr.masks.astype(np.float32), ws) >= 0.5),
                "test_masks_w": (area_resize(te.masks.astype(np.float32), ws) >= 0.5),
            }
        return self._data

    def device(self):
        from medeid_gui.ml.device import pick_device

        return pick_device(self.dev_name)

    def task_models(self):
        if self._tasks is None:
            import torch

            from medeid_gui.lab.nets import UNet
            from medeid_gui.lab.tasks import TaskModels, _make_clf, train_tasks

            d, cfg, dev = self.data(), self.config, self.device()
            path = self.cache / "tasks.pt"
            if path.exists():
                state = torch.load(path, map_location=dev)
                m = TaskModels(_make_clf(3, cfg.tasks, dev), UNet(cfg.tasks.unet_width).to(dev),
                               _make_clf(1, cfg.tasks, dev), state["seconds"])
                m.classifier.load_state_dict(state["classifier"])
                m.segmenter.load_state_dict(state["segmenter"])
                m.regressor.load_state_dict(state["regressor"])
                for net in (m.classifier, m.segmenter, m.regressor):
                    net.eval()
            else:
                self.log("training the three task models on original training images")
                tr = d["train"]
                m = train_tasks(d["train_w"], tr.findings, d["train_masks_w"], tr.severity,
                                seed=cfg.task_seed, config=cfg.tasks, dev=dev, log=self.log)
                self.cache.mkdir(parents=True, exist_ok=True)
                torch.save({"classifier": m.classifier.state_dict(),
                            "segmenter": m.segmenter.state_dict(),
                            "regressor": m.regressor.state_dict(), "seconds": m.seconds},
                           path)
            self._tasks = m
        return self._tasks

    # ------------------------------------------------------------------ scoring
    def _attack(self, train_b: np.ndarray, test_b: np.ndarray) -> dict:
        """Attacker AUC over the configured seeds, cached by the content of the views."""
        from medeid_gui.lab.attacker import attack
        from medeid_gui.lab.metrics import mean_std

        d = self.data()
        key = _hash(train_b, test_b)
        path = self.cache / "attacks" / f"{key}.json"
        if path.exists():
            return json.loads(path.read_text())
        aucs, secs = [], []
        for s in self.config.attacker_seeds:
            r = attack(d["train_w"], train_b, d["train"].patients, d["test_w"], test_b,
                       d["test"].patients, seed=s, config=self.config.attacker,
                       dev=self.device())
            aucs.append(r.auc)
            secs.append(r.seconds)
            self.log(f"  attacker seed {s}: AUC {r.auc:.4f} ({r.seconds:.0f} s)")
        out = {**mean_std(aucs), "n_pairs": r.n_pairs, "seconds": round(sum(secs), 1)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
        return out

    def _score_tasks(self, test_img: np.ndarray) -> dict:
        from medeid_gui.lab.tasks import score_tasks

        te, d = self.data()["test"], self.data()
        return score_tasks(self.task_models(), test_img, te.findings, d["test_masks_w"],
                           te.severity, dev=self.device())

    def originals(self) -> dict:
        path = self.cache / "originals.json"
        if path.exists():
            return json.loads(path.read_text())
        d = self.data()
        self.log("originals: attacker")
        t0 = time.perf_counter()
        att = self._attack(d["train_w"], d["test_w"])
        tasks = self._score_tasks(d["test_w"])
        out = {"attacker_auc": att, "tasks": tasks,
               "task_training_seconds": {k: round(v, 1) for k, v in self.task_models().seconds.items()},
               "seconds": round(time.perf_counter() - t0, 1)}
        self.log(f"originals: attacker AUC {att['mean']:.4f} ± {att['std']:.4f}; tasks {tasks}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1))
        return out

    def level(self, method_name: str, p: float) -> dict:
        """Result for one method at one level (cached)."""
        from medeid_gui.lab.cohort import area_resize
        from medeid_gui.lab.registry import get_method

        method = get_method(method_name)
        path = self.cache / "results" / method_name / f"{_levels_key(p)}.json"
        if path.exists():
            cached = json.loads(path.read_text())
            if cached.get("method_version", "") == method.version:
                return cached
            self.log(f"{method_name} p={p}: method version changed, recomputing")
        d = self.data()
        base = self.originals()
        t0 = time.perf_counter()
        salt = zlib.crc32(method_name.encode())
        rng_tr = np.random.default_rng([self.config.transform_seed, salt, int(round(p * 1000)), 0])
        rng_te = np.random.default_rng([self.config.transform_seed, salt, int(round(p * 1000)), 1])
        xtr = method.apply(d["train"].images, p, rng_tr)
        xte = method.apply(d["test"].images, p, rng_te)
        t_transform = time.perf_counter() - t0
        ws = self.config.work_size
        xtr_w = area_resize(xtr, ws).astype(np.float32)
        xte_w = area_resize(xte, ws).astype(np.float32)
        change = float(np.abs(xte - d["test"].images).mean())
        if np.array_equal(xtr_w, d["train_w"]) and np.array_equal(xte_w, d["test_w"]):
            att, tasks = base["attacker_auc"], base["tasks"]
        else:
            self.log(f"{method_name} p={p}: attacker")
            att = self._attack(xtr_w, xte_w)
            tasks = self._score_tasks(xte_w)
        out = {"p": p, "method_version": method.version, "attacker_auc": att, "tasks": tasks,
               "mean_abs_change": round(change, 5),
               "transform_seconds_per_image": round(t_transform / (len(xtr) + len(xte)), 5),
               "seconds": round(time.perf_counter() - t0, 1)}
        self.log(f"{method_name} p={p}: attacker AUC {att['mean']:.4f} ± {att['std']:.4f}; "
                 f"tasks {tasks}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1))
        return out

    def cached_methods(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        root = self.cache / "results"
        if root.exists():
            for mdir in sorted(root.iterdir()):
                rows = [json.loads(f.read_text()) for f in sorted(mdir.glob("*.json"))]
                if rows:
                    out[mdir.name] = sorted(rows, key=lambda r: r["p"])
        return out


def versions() -> dict:
    import scipy

    from medeid_gui import __version__
    from medeid_gui.lab.cohort import GENERATOR_VERSION

    v = {"medeid": __version__, "python": platform.python_version(), "numpy": np.__version__,
         "scipy": scipy.__version__, "cohort_generator": GENERATOR_VERSION,
         "platform": platform.platform()}
    try:
        import torch

        v["torch"] = torch.__version__
        v["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    return v


def run_evaluation(work: str | Path, out_dir: str | Path, methods: list[str] | None = None,
                   levels: tuple[float, ...] = DEFAULT_LEVELS, config: EvalConfig = EvalConfig(),
                   *, dev=None, log=print) -> dict:
    """Evaluate ``methods`` (default: all registered) at ``levels``; write the report files."""
    from medeid_gui.lab.registry import get_method, method_names

    t0 = time.perf_counter()
    ev = Evaluation(work, config, dev=dev, log=log)
    names = methods or method_names()
    for n in names:
        get_method(n)  # fail before hours of work on a typo
    orig = ev.originals()
    for n in names:
        for p in levels:
            ev.level(n, float(p))
    # methods evaluated earlier in this work dir join the report when they cover every level
    want = {_levels_key(p) for p in levels}
    results = {k: v for k, v in ev.cached_methods().items()
               if k in names or want <= {_levels_key(r["p"]) for r in v}}
    report = build_report(ev, orig, results, time.perf_counter() - t0, out_dir)
    write_report(report, Path(out_dir))
    return report


def build_report(ev: Evaluation, orig: dict, results: dict, seconds: float, out_dir) -> dict:
    """The evaluation.json content; keeps methods from an earlier report with the same
    fingerprint that this work dir has not computed (so separate runs merge)."""
    fp = ev.config.fingerprint()
    methods = dict(results)
    prev_path = Path(out_dir) / "evaluation.json"
    if prev_path.exists():
        try:
            prev = json.loads(prev_path.read_text())
        except json.JSONDecodeError:
            prev = {}
        if prev.get("fingerprint") == fp:
            for k, v in prev.get("methods", {}).items():
                methods.setdefault(k, v)
    import torch

    from medeid_gui.lab.registry import method_names

    order = method_names()  # baselines first, in registration order, then plug-ins
    methods = dict(sorted(methods.items(),
                          key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order),
                                          kv[0])))
    return {
        "attacker_auc_originals": {k: orig["attacker_auc"][k] for k in ("mean", "std", "seeds", "values")},
        "tasks_originals": orig["tasks"],
        "methods": methods,
        "fingerprint": fp,
        "config": ev.config.to_json(),
        "cohort": {"splits": "patient-disjoint 60/20/20", "train_images": len(ev.data()["train"]),
                   "test_images": len(ev.data()["test"]),
                   "test_patients": int(len(np.unique(ev.data()["test"].patients)))},
        "protocol": {
            "attacker": "Siamese verification (|e1-e2| pair head), retrained per method/level on "
                        "(original, transformed) training pairs of different studies; AUC over all "
                        "(original i, transformed j) test pairs, i != j; mean ± std over seeds",
            "tasks": "trained once on original training images; scored on the transformed test split",
            "task_metrics": {"classification_auc": "macro ROC AUC over nodule/effusion/opacity",
                             "segmentation_dice": "pooled Dice of the any-finding lesion mask",
                             "severity_r2": "R² of lesion area / lung area"},
        },
        "versions": versions(),
        "device": str(ev.device()) + ("" if str(ev.device()) != "cpu" else
                                      f" ({platform.processor() or platform.machine()})"),
        "timings": {"this_run_seconds": round(seconds, 1),
                    "originals_seconds": orig.get("seconds"),
                    "task_training_seconds": orig.get("task_training_seconds"),
                    "per_method_seconds": {k: round(sum(r.get("seconds", 0) for r in v), 1)
                                           for k, v in methods.items()}},
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(),
                    "load_average_1_5_15min": [round(x, 2) for x in os.getloadavg()]},
        "notes": [
            "The three task models are trained once (seed config.task_seed) on original training "
            "images; their scores on transformed images therefore carry no seed spread.",
            "The attacker is retrained for every method and level with the same seeds; a "
            "transform that leaves the images unchanged (every method at p = 0) reuses the "
            "originals' numbers exactly.",
            "Timings are wall-clock on the machine named under 'device'/'machine'; a load "
            "average above the CPU count means other jobs shared the CPU during the run.",
        ],
        "torch_cuda": bool(torch.cuda.is_available()),
    }


def write_report(report: dict, out_dir: Path) -> None:
    from medeid_gui.lab.report import render_markdown, render_plot

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    render_plot(report, out_dir / "evaluation.png")
    (out_dir / "EVALUATION.md").write_text(render_markdown(report), encoding="utf-8")
