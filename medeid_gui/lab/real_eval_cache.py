"""Cache of the real-set evaluation's trained attacker and task models.

Why: the attacker and the three task models depend only on the data, the splits and their own
settings, never on the method's weights; training them is about two thirds of a CPU run. With
``--cache DIR`` the second model evaluated (a site's, after the shipped one) reuses them, keyed by
a hash of everything they depend on, so a changed setting retrains instead of reusing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

__all__ = ["cache_key", "load_trained", "save_trained"]


def cache_key(cfg: object) -> str:
    """Hash of the settings the attacker and the tasks depend on (not the method's weights)."""
    keys = ("root", "cohort", "attack", "task_epochs", "split_seed", "max_test", "max_train")
    d = {k: v for k, v in asdict(cfg).items() if k in keys}  # type: ignore[call-overload]
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


def save_trained(path: Path, pre: object | None, net: object, tasks: object, seconds: dict[str, float]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"pre": None if pre is None else pre.state_dict(), "net": net.state_dict(),
                "classifier": tasks.classifier.state_dict(), "segmenter": tasks.segmenter.state_dict(),
                "regressor": tasks.regressor.state_dict(), "seconds": seconds}, path)


def load_trained(path: Path, log: Callable[[str], None]) -> tuple[object | None, object, object, dict] | None:
    """(pre-trained attacker or None, attacker, task models, training seconds), or None if absent."""
    if not path.is_file():
        return None
    import torch

    from medeid_gui.lab.attacker import AttackerConfig
    from medeid_gui.lab.nets import SiameseVerifier, UNet
    from medeid_gui.lab.real_eval_tasks import RealTaskModels
    from medeid_gui.lab.tasks import TaskConfig, _make_clf

    st = torch.load(path, map_location="cpu")
    ac, tc = AttackerConfig(), TaskConfig()

    def verifier(sd: dict) -> object:
        m = SiameseVerifier(ac.width, ac.dim)
        m.load_state_dict(sd)
        return m.eval()

    clf, seg, reg = _make_clf(1, tc, "cpu"), UNet(tc.unet_width), _make_clf(2, tc, "cpu")
    for m, k in ((clf, "classifier"), (seg, "segmenter"), (reg, "regressor")):
        m.load_state_dict(st[k])
        m.eval()
    log(f"attacker and task models from the cache {path}")
    pre = verifier(st["pre"]) if st["pre"] is not None else None
    seconds = {f"{k} (cached)": v for k, v in st["seconds"].items()}
    return pre, verifier(st["net"]), RealTaskModels(clf, seg, reg), seconds
