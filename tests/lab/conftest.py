from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory):
    """8 patients x 3 studies at 64 px: big enough for every split, small enough to be quick."""
    from medeid_gui.lab.cohort import CohortConfig, generate_cohort

    root = tmp_path_factory.mktemp("cohort")
    generate_cohort(root, CohortConfig(patients=8, studies_per_patient=3, seed=7, size=64))
    return root


@pytest.fixture(autouse=True)
def _one_thread():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
