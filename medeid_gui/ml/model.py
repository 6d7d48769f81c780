"""The trained method as one object: load, verify, run the networks on working images.

Why: ``deidentify`` and the GUI want "the model" — identity map, semantic code, compensation —
without caring that it is stored as three sha256-checked files:

* ``medeid-identity.pt``    ReID encoder + distilled identity-map head
* ``medeid-semantic.pt``    semantic encoder (the MFM role) or a timm adapter's projection
* ``medeid-compensator.pt`` MDL decoupler + compensator (+ the no-MDL ablation's compensator)

Each file holds ``{"config": {...}, "<part>": state_dict, ...}`` and is loaded with
``torch.load(weights_only=True)`` after its sha256 is checked against ``models/manifest.json``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medeid_gui.ml.nets import FEAT, WORK_SIZE, nets
from medeid_gui.ml.weights import StateDict

if TYPE_CHECKING:  # the classes need torch; only the type checker imports them here
    import torch
    from torch import nn

    from medeid_gui.ml.networks import Compensator, Decoupler, IdentityMapHead, ReIDNet

IDENTITY_FILE = "medeid-identity.pt"
SEMANTIC_FILE = "medeid-semantic.pt"
COMPENSATOR_FILE = "medeid-compensator.pt"
WEIGHT_FILES = (IDENTITY_FILE, SEMANTIC_FILE, COMPENSATOR_FILE)


@dataclass
class MedeidModel:
    """All networks of the method, on one device, in eval mode."""

    reid: ReIDNet
    idmap: IdentityMapHead
    encoder: nn.Module  #: ``SemanticEncoder`` or a timm adapter (``ml.adapters``)
    decoupler: Decoupler
    compensator: Compensator
    compensator_raw: Compensator | None = None  #: no-MDL ablation (fed raw features)
    device: str = "cpu"
    config: dict[str, Any] = field(default_factory=dict)  #: the weights' JSON config

    @property
    def work_size(self) -> int:
        """The working resolution these weights were trained at (128 for the shipped ones)."""
        return int(self.config.get("work_size", WORK_SIZE))

    def modules(self) -> list[nn.Module]:
        return [m for m in (self.reid, self.idmap, self.encoder, self.decoupler, self.compensator,
                            self.compensator_raw) if m is not None]

    def to(self, device: str) -> MedeidModel:
        for m in self.modules():
            m.to(device)
        self.device = device
        return self

    def eval(self) -> MedeidModel:
        for m in self.modules():
            m.eval()
        return self

    # -- torch-level steps (inputs: (B, 1, R, R) tensors in [0, 1] on self.device)

    def identity_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, GRID, GRID) identity relevance logits from the distilled head."""
        return self.idmap(x)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Semantic features, divided by the training-set scale the decoupler was trained on."""
        return self.encoder(x) / float(self.config.get("feature_scale", 1.0))

    def semantic_code(self, f: torch.Tensor) -> torch.Tensor:
        """Decoupled semantic code s (posterior mean) from features."""
        s, _ = self.decoupler.encode_s(f, sample=False)
        return s

    def compensate(self, x: torch.Tensor, mask: torch.Tensor, code: torch.Tensor,
                   noise: torch.Tensor, *, raw: bool = False) -> torch.Tensor:
        """Fill of the blocked patches from s (or, ``raw``, from raw features: the ablation)."""
        net = self.compensator_raw if raw else self.compensator
        if net is None:
            raise RuntimeError("this model has no no-MDL compensator (ablation not trained)")
        return net(x, mask, code, noise)


#: a working size must be a multiple of this (16 x 16 patch grid, stride-8 compensator bottleneck)
GRID_STEP = 32
#: the working sizes a model may be trained at (the shipped weights: 128; real radiographs >= 256)
MAX_WORK_SIZE = 1024


def check_work_size(size: int) -> int:
    """``size`` if it is a usable working resolution, else ``ValueError`` saying which are."""
    if not isinstance(size, int) or size < WORK_SIZE or size > MAX_WORK_SIZE or size % GRID_STEP:
        raise ValueError(f"working size {size!r}: use a multiple of {GRID_STEP} from {WORK_SIZE} "
                         f"to {MAX_WORK_SIZE} (256 or more for real radiographs)")
    return size


def new_model(n_ids: int = 0, backbone: str = "medeid", with_raw: bool = True,
              code_ch: int | None = None, comp_prior: bool = False,
              s_context: bool = False, comp_residual: bool = False,
              work_size: int = WORK_SIZE) -> MedeidModel:
    """Untrained networks (for training). ``code_ch``: channels of the semantic code s;
    ``comp_prior``: the compensators see a prior image in the blocked patches; ``s_context``:
    the decoupler's s encoder sees 33 x 33 cells of the feature grid (dilated stack); ``comp_residual``:
    the compensators draw corrections onto the prior rather than the whole fill; ``work_size``:
    the working resolution (the networks are convolutional; only the prior image and the feature
    grid, ``work_size // 4``, depend on it)."""
    from medeid_gui.ml.adapters import build_backbone
    from medeid_gui.ml.nets import CODE_CH

    N = nets()
    check_work_size(work_size)
    if work_size != WORK_SIZE and backbone != "medeid":
        raise ValueError(f"a foundation-model backbone runs at {WORK_SIZE} px only")
    config = {"work_size": int(work_size), "feat": int(work_size) * FEAT // WORK_SIZE,
              "n_ids": n_ids, "backbone": backbone,
              "code_ch": int(code_ch or CODE_CH), "comp_prior": bool(comp_prior),
              "s_context": bool(s_context), "comp_residual": bool(comp_residual)}
    # construction order = initialisation order under the caller's seed: keep it
    reid, idmap, encoder = N.ReIDNet(0), N.IdentityMapHead(), build_backbone(backbone)
    dec, comp, raw = _code_networks(config, n_ids, with_raw=with_raw)
    return MedeidModel(reid=reid, idmap=idmap, encoder=encoder, decoupler=dec, compensator=comp,
                       compensator_raw=raw, config=config)


def _code_networks(config: dict[str, Any], n_ids: int = 0, *,
                   with_raw: bool) -> tuple[Decoupler, Compensator, Compensator | None]:
    """Decoupler, compensator and (``with_raw``) the no-MDL compensator shaped by a weights
    config; one place for training (``new_model``) and loading (``load_model``), so a layout
    knob added for one cannot be forgotten by the other. Configs written before a knob was
    recorded get the layout those weights had (code 8 channels, no prior, local s encoder)."""
    from medeid_gui.ml.nets import CODE_CH, FEAT_CH

    N = nets()
    code_ch = int(config.get("code_ch", CODE_CH))
    prior = bool(config.get("comp_prior", False))
    residual = bool(config.get("comp_residual", False))
    dec = N.Decoupler(n_ids, code_ch=code_ch, context=bool(config.get("s_context", False)))
    size = int(config.get("work_size", WORK_SIZE))
    comp = N.Compensator(code_ch=code_ch, prior=prior, residual=residual, size=size)
    raw = N.Compensator(code_ch=FEAT_CH, prior=prior, residual=residual, size=size) if with_raw else None
    return dec, comp, raw


def _strip(sd: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """Drop training-only parameters (classifiers over training patients)."""
    return {k: v for k, v in sd.items() if not k.startswith(prefixes)}


def export_states(model: MedeidModel, extra_config: Mapping[str, object] | None = None) -> dict[str, StateDict]:
    """File name -> state to save. Training-only heads that name training patients are dropped."""
    cfg = {**model.config, **(extra_config or {})}
    enc = model.encoder
    enc_sd = enc.trainable_state() if hasattr(enc, "trainable_state") else enc.state_dict()
    comp = {"config": cfg, "decoupler": _strip(model.decoupler.state_dict(), ("adv",)),
            "compensator": model.compensator.state_dict()}
    if model.compensator_raw is not None:
        comp["compensator_raw"] = model.compensator_raw.state_dict()
    return {
        IDENTITY_FILE: {"config": cfg, "reid": _strip(model.reid.state_dict(), ("classifier",)),
                        "idmap": model.idmap.state_dict()},
        SEMANTIC_FILE: {"config": cfg, "encoder": enc_sd},
        COMPENSATOR_FILE: comp,
    }


def load_model(models: str | Path | None = None, device: str | None = None) -> MedeidModel:
    """Load and verify the shipped (or a site's) weights; raises ``WeightsError`` on mismatch."""
    from medeid_gui._resources import models_dir
    from medeid_gui.ml.adapters import build_backbone
    from medeid_gui.ml.device import pick_device
    from medeid_gui.ml.weights import WeightsError, load_state

    root = Path(models) if models is not None else models_dir()
    ident = load_state(root, IDENTITY_FILE)
    sem = load_state(root, SEMANTIC_FILE)
    comp = load_state(root, COMPENSATOR_FILE)
    cfg = dict(comp.get("config", {}))
    size = cfg.get("work_size")
    if not isinstance(size, int) or size % GRID_STEP or cfg.get("feat") != size * FEAT // WORK_SIZE:
        raise WeightsError(f"weights in {root} were made for another network layout: {cfg}")
    N = nets()
    reid = N.ReIDNet(0)
    reid.load_state_dict(ident["reid"])
    idmap = N.IdentityMapHead()
    idmap.load_state_dict(ident["idmap"])
    encoder = build_backbone(cfg.get("backbone", "medeid"))
    encoder.load_state_dict(sem["encoder"], strict=not hasattr(encoder, "trainable_state"))
    dec, compensator, raw = _code_networks(cfg, with_raw="compensator_raw" in comp)
    missing, unexpected = dec.load_state_dict(comp["decoupler"], strict=False)
    if unexpected or any(not k.startswith("adv") for k in missing):
        raise WeightsError(f"{COMPENSATOR_FILE} does not fit the decoupler: missing {missing}, "
                           f"unexpected {unexpected}")
    compensator.load_state_dict(comp["compensator"])
    if raw is not None:
        raw.load_state_dict(comp["compensator_raw"])
    model = MedeidModel(reid, idmap, encoder, dec, compensator, raw, config=cfg)
    return model.to(pick_device(device)).eval()


_default: dict[tuple[str, str | None], MedeidModel] = {}
_lock = threading.Lock()


def default_model(device: str | None = None) -> MedeidModel:
    """The shipped model, loaded once per process (thread-safe)."""
    from medeid_gui._resources import models_dir

    key = (str(models_dir()), device)
    with _lock:
        if key not in _default:
            _default[key] = load_model(device=device)
        return _default[key]
