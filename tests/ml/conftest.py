from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def random_model():
    """Untrained networks of the real architecture: enough for shape/exactness/determinism checks."""
    import torch

    from medeid_gui.ml.model import new_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    return new_model(n_ids=5).eval()
