"""Checkpoints of a training run: one resumable file per run, and which networks a stage owns.

Why separate: resuming must give the bit-identical weights of an uninterrupted run, and a
``--redo`` must know which part of a configuration its reused snapshot depends on; both rules
live here, next to the file format.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeid_gui.lab.train_config import STAGES, TrainConfig

if TYPE_CHECKING:
    from medeid_gui.ml.model import MedeidModel


class Checkpoint:
    """One file per run: finished stages, current stage/step, module + optimiser states."""

    def __init__(self, work: Path, cfg: TrainConfig, fresh: bool, redo_from: int | None = None) -> None:
        import torch

        self.path = work / "checkpoint.pt"
        self.state: dict[str, Any] = {"done": [], "stage": None, "step": 0, "model": {},
                                      "opt": None, "extra": {}, "metrics": {}, "seconds": {}}
        work.mkdir(parents=True, exist_ok=True)
        if self.path.is_file() and not fresh:
            st = torch.load(self.path, map_location="cpu", weights_only=False)
            if st.get("config") != cfg_key(cfg) and not (
                    redo_from is not None
                    and stages_key(st.get("config") or {}, redo_from) == stages_key(cfg_key(cfg), redo_from)):
                raise RuntimeError(f"checkpoint {self.path} belongs to another configuration; "
                                   "use --fresh or another --work folder")
            self.state = st
        self.state["config"] = cfg_key(cfg)

    def save(self, model: MedeidModel, stage: str, step: int, opt: Any,
             aux: dict[str, Any] | None = None) -> None:
        """Write the state atomically (temp file, then rename): a kill never leaves half a file."""
        import torch

        self.state.update(stage=stage, step=step, opt=opt.state_dict() if opt else None,
                          model=model_states(model),
                          aux={k: m.state_dict() for k, m in (aux or {}).items()})
        tmp = self.path.with_suffix(".tmp")
        torch.save(self.state, tmp)
        tmp.replace(self.path)


def cfg_key(cfg: TrainConfig) -> dict[str, Any]:
    """The config without what does not change the weights (paths, device, threads, cadence)."""
    d = asdict(cfg)
    for k in ("out", "work", "device", "threads", "ckpt_every"):
        d.pop(k, None)
    return d


#: the networks each stage trains (a redo keeps those of the stages before it)
STAGE_MODULES = {"reid": ("reid",), "idmap": ("idmap",), "ssl": ("encoder",),
                 "mdl": ("decoupler",), "comp": ("compensator", "compensator_raw")}


def stages_key(cfg: dict[str, Any], first: int) -> dict[str, Any]:
    """The part of a config that decides the stages before ``STAGES[first]``: a redo from that
    stage may change anything else (e.g. the rate weight) and still reuse their snapshot."""
    keep = ("data", "seed", "backbone", "scale", "size", "batch", "ssl_batch", "lr")
    if first > STAGES.index("mdl"):  # what the mdl stage uses
        keep += ("beta_rate", "lam_adv", "code_ch", "find_weight", "rec_weight", "lesion_pos_weight",
                 "s_context")
    steps = cfg.get("steps") or {}
    return {**{k: cfg.get(k) for k in keep},
            "steps": {s: steps.get(s) for s in STAGES[:first]}}


def model_states(model: MedeidModel) -> dict[str, Any]:
    """Network name -> state_dict, for every network the model has."""
    names = ("reid", "idmap", "encoder", "decoupler", "compensator", "compensator_raw")
    return {n: getattr(model, n).state_dict() for n in names if getattr(model, n) is not None}


def load_model_states(model: MedeidModel, states: dict[str, Any]) -> None:
    for n, sd in states.items():
        getattr(model, n).load_state_dict(sd)
