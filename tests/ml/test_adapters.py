"""Foundation-model adapter: a real timm architecture, randomly initialised, saved to a local file
and loaded through the adapter (no downloads)."""

from __future__ import annotations

import pytest

from medeid_gui.ml.adapters import BackboneError, build_backbone, parse_spec


def test_specs() -> None:
    assert parse_spec("medeid") == {"kind": "medeid"}
    assert parse_spec("timm:resnet18:/x/y.pth") == {"kind": "timm", "arch": "resnet18",
                                                     "checkpoint": "/x/y.pth"}
    for bad in ("timm:resnet18", "clip", "timm::x"):
        with pytest.raises(BackboneError):
            parse_spec(bad)


def test_missing_checkpoint_refused(tmp_path) -> None:
    with pytest.raises(BackboneError, match="does not exist"):
        build_backbone(f"timm:resnet18:{tmp_path / 'nope.pth'}")


def _timm():
    try:
        import timm
    except Exception as exc:  # timm needs a torchvision matching torch; say why when it cannot
        pytest.skip(f"timm cannot be imported here: {exc}")
    return timm


def test_timm_checkpoint_loads_from_local_file(tmp_path) -> None:
    timm = _timm()
    import torch

    from medeid_gui.ml.nets import FEAT, FEAT_CH

    torch.manual_seed(0)
    ref = timm.create_model("resnet18", pretrained=False)
    ckpt = tmp_path / "resnet18_random.pth"
    torch.save(ref.state_dict(), ckpt)
    bb = build_backbone(f"timm:resnet18:{ckpt}")
    # the trunk holds exactly the checkpoint's weights
    w_ref = ref.state_dict()["conv1.weight"]
    w_bb = dict(bb.trunk.named_parameters())["conv1.weight"]
    assert torch.equal(w_ref, w_bb)
    y = bb(torch.rand(2, 1, 128, 128))
    assert y.shape == (2, FEAT_CH, FEAT, FEAT)
    assert set(bb.trainable_state()) == {"proj.weight", "proj.bias"}
    assert not any(p.requires_grad for p in bb.trunk.parameters())


def test_checkpoint_of_another_architecture_refused(tmp_path) -> None:
    _timm()
    import torch

    ckpt = tmp_path / "other.pth"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(3, 3)}}, ckpt)
    with pytest.raises(BackboneError, match="does not fit"):
        build_backbone(f"timm:resnet18:{ckpt}")
