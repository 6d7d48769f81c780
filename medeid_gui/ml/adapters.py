"""Semantic backbones: the shipped cohort encoder, or a real foundation model from a local file.

Why an adapter: the method's semantic encoder plays the role of a medical foundation model
(MFM). The default weights are a small encoder pre-trained on the generated cohort; a site that
has a real MFM checkpoint (e.g. a timm ResNet/ViT trained on chest radiographs) can plug it in
without code changes. Every backbone honours one contract::

    backbone(x: (B, 1, R, R) float in [0, 1]) -> (B, FEAT_CH, FEAT, FEAT)

The timm adapter freezes the foundation model, picks the feature level whose stride is closest
to the working stride (4), and learns only a 1x1 projection to ``FEAT_CH`` channels (trained with
the decoupler by ``medeid ml train --backbone timm:ARCH:CHECKPOINT``). Weights come only from the
local file given (``torch.load(weights_only=True)``); the architecture is built with
``pretrained=False`` so timm never reaches a hub. Every parameter of the feature trunk must be in
the checkpoint (classifier heads in it are ignored), else the load is refused.

Spec strings (stored in the model's config): ``"medeid"`` or ``"timm:<arch>:<checkpoint path>"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.ml.nets import FEAT, FEAT_CH, nets

if TYPE_CHECKING:
    from torch import nn


class BackboneError(RuntimeError):
    """A backbone spec cannot be honoured (unknown kind, missing file, timm absent)."""


def parse_spec(spec: str) -> dict[str, str]:
    """``"medeid"`` or ``"timm:ARCH:CHECKPOINT"`` as a dict with ``kind`` (and arch, checkpoint)."""
    if spec == "medeid":
        return {"kind": "medeid"}
    if spec.startswith("timm:"):
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise BackboneError(f"timm backbone spec must be 'timm:ARCH:CHECKPOINT', got {spec!r}")
        return {"kind": "timm", "arch": parts[1], "checkpoint": parts[2]}
    raise BackboneError(f"unknown backbone {spec!r}; use 'medeid' or 'timm:ARCH:CHECKPOINT'")


def build_backbone(spec: str = "medeid") -> nn.Module:
    """An ``nn.Module`` honouring the backbone contract, with untrained projection if any."""
    cfg = parse_spec(spec)
    if cfg["kind"] == "medeid":
        return nets().SemanticEncoder()
    return build_timm_backbone(cfg["arch"], cfg["checkpoint"])


def build_timm_backbone(arch: str, checkpoint: str | Path) -> nn.Module:
    """Wrap timm architecture ``arch`` with weights read from the local ``checkpoint`` file."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    path = Path(checkpoint)
    if not path.is_file():
        raise BackboneError(f"foundation-model checkpoint {path} does not exist")
    try:
        import timm
    except Exception as exc:  # ImportError, or torchvision mismatches surfacing at import
        raise BackboneError(f"the timm adapter needs the 'timm' package to import cleanly: {exc}") from exc
    try:
        trunk = timm.create_model(arch, pretrained=False, features_only=True)
    except Exception as exc:
        raise BackboneError(f"cannot build timm model {arch!r}: {exc}") from exc
    _load_trunk(trunk, path)
    info = trunk.feature_info
    reductions = list(info.reduction())
    level = min(range(len(reductions)), key=lambda k: (abs(reductions[k] - 4), k))
    channels = list(info.channels())[level]
    pcfg = getattr(trunk, "pretrained_cfg", None) or {}
    mean = torch.tensor(pcfg.get("mean", (0.485, 0.456, 0.406)), dtype=torch.float32)
    std = torch.tensor(pcfg.get("std", (0.229, 0.224, 0.225)), dtype=torch.float32)

    class TimmBackbone(nn.Module):
        out_channels = FEAT_CH

        def __init__(self) -> None:
            super().__init__()
            self.trunk = trunk.eval()
            for q in self.trunk.parameters():
                q.requires_grad_(False)
            self.level = level
            self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)
            self.register_buffer("std", std.view(1, -1, 1, 1), persistent=False)
            self.proj = nn.Conv2d(channels, FEAT_CH, 1)

        def train(self, mode: bool = True):  # the foundation model stays frozen in eval mode
            super().train(mode)
            self.trunk.eval()
            return self

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x3 = (x.expand(-1, 3, -1, -1) - self.mean) / self.std
            with torch.no_grad():
                feat = self.trunk(x3)[self.level]
            if feat.shape[-1] != FEAT or feat.shape[-2] != FEAT:
                feat = F.interpolate(feat, size=(FEAT, FEAT), mode="bilinear", align_corners=False)
            return self.proj(feat)

        def trainable_state(self) -> dict[str, torch.Tensor]:
            """Only the projection: the foundation model is re-read from its own file."""
            return {k: v for k, v in self.state_dict().items() if k.startswith("proj.")}

    return TimmBackbone()


def _load_trunk(trunk, path: Path) -> None:
    """Load a classification checkpoint into a ``features_only`` trunk, strictly on its side."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BackboneError(f"{path} is not a readable torch checkpoint: {exc}") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise BackboneError(f"{path} holds no state dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    want = trunk.state_dict()
    picked, missing = {}, []
    for k in want:
        for cand in (k, k.removeprefix("model."), "model." + k):
            if cand in state:
                picked[k] = state[cand]
                break
        else:
            missing.append(k)
    if missing:
        raise BackboneError(f"{path} does not fit this architecture: {len(missing)} trunk "
                            f"parameter(s) missing, e.g. {missing[:3]}")
    try:
        trunk.load_state_dict(picked, strict=True)
    except RuntimeError as exc:
        raise BackboneError(f"{path} does not fit this architecture: {exc}") from exc
