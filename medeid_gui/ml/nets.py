"""The method's networks (Tian et al. 2025 roles, sized for a 2-core CPU).

Why two modules: ``medeid_gui.ml`` must not import torch at module import time (the header-only
paths and ``medeid --help`` stay torch-free), yet ``nn.Module`` subclasses need torch to be
defined. The classes live in :mod:`medeid_gui.ml.networks` (which imports torch at its top);
this module holds the torch-free layout constants and ``nets()``, the lazy loader that imports
``networks`` on first call. No other module imports ``networks`` directly.

All networks work on a grey working image ``x`` of shape (B, 1, R, R), values in [0, 1],
``R = WORK_SIZE``. The identity map lives on a ``GRID x GRID`` patch grid; the semantic features
and the decoupled semantic code live on a ``FEAT x FEAT`` grid (stride 4).

Roles:

* ``ReIDNet`` — the pipeline's own re-identification encoder (a different architecture and seed
  from the evaluation attacker): frame -> L2-normalised identity embedding.
* ``IdentityMapHead`` — distilled identity map: frame -> per-patch identity relevance logits.
  Its targets are gradient attributions of ReID similarity (see ``lab.train_method``), so the
  app gets the map in one cheap forward pass instead of a backward pass per frame.
* ``SemanticEncoder`` (+ ``MaskedDecoder``) — the small "medical foundation model": pre-trained
  self-supervised by masked-patch reconstruction; any backbone with the same output contract
  (see ``ml.adapters``) can take its place.
* ``Decoupler`` — the MDL split: features -> semantic code ``s`` (a Gaussian code that pays a
  KL rate, i.e. a description length in nats) and identity code ``i``; a finding head on ``s``,
  ``i`` itself trained as an identity embedding (the identity head), an identity adversary on
  ``s`` behind gradient reversal, and a
  feature decoder ``(s, i) -> f`` so that together they still describe the features (identity
  then has a cheap place to go that is not ``s``).
* ``Compensator`` — a small U-Net: (visible pixels, mask, noise, s) -> filled working image.
"""

from __future__ import annotations

import importlib
from types import ModuleType

WORK_SIZE = 128  #: working resolution R
GRID = 16  #: identity-map / blocking patch grid (GRID x GRID patches)
FEAT = 32  #: semantic feature grid (stride 4 at WORK_SIZE)
FEAT_CH = 64  #: channels of the semantic feature map
CODE_CH = 8  #: default channels of the semantic code s (weights record their own: config "code_ch")
ID_DIM = 32  #: size of the identity code i
EMB_DIM = 64  #: ReID embedding size
N_FINDINGS = 3  #: nodule, effusion, opacity


def nets() -> ModuleType:
    """The module of network classes (:mod:`medeid_gui.ml.networks`); imports torch.

    ``nets().ReIDNet``, ``nets().Compensator``, ... are plain classes; Python caches the module
    after the first call.
    """
    return importlib.import_module("medeid_gui.ml.networks")
