"""Network contracts that the training recipe relies on (untrained networks, real torch)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from medeid_gui.ml.nets import FEAT, FEAT_CH, WORK_SIZE, nets  # noqa: E402 - only once torch is known to be installed


def _inputs(code_ch: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 1, WORK_SIZE, WORK_SIZE, generator=g)
    mask = (torch.rand(2, 1, WORK_SIZE, WORK_SIZE, generator=g) > 0.5).float()
    code = torch.randn(2, code_ch, FEAT, FEAT, generator=g)
    noise = torch.randn(2, 1, WORK_SIZE, WORK_SIZE, generator=g)
    return x, mask, code, noise


def test_residual_compensator_starts_as_its_prior_and_can_move_off_it() -> None:
    """A new residual compensator returns the prior (nothing drawn yet); one optimiser step on a
    target that differs from the prior changes the output, so the correction is trainable."""
    torch.manual_seed(0)
    comp = nets().Compensator(code_ch=4, prior=True, residual=True)
    prior = torch.linspace(0.05, 0.95, WORK_SIZE * WORK_SIZE).view(1, 1, WORK_SIZE, WORK_SIZE)
    comp.prior.copy_(prior)
    x, mask, code, noise = _inputs(4)
    out = comp(x, mask, code, noise)
    assert out.shape == x.shape
    torch.testing.assert_close(out, prior.expand_as(out), atol=2e-6, rtol=0)
    opt = torch.optim.SGD(comp.parameters(), lr=1.0)
    ((comp(x, mask, code, noise) - x).abs() * mask).mean().backward()
    opt.step()
    assert (comp(x, mask, code, noise) - prior).abs().max() > 1e-4


def test_residual_compensator_needs_a_prior() -> None:
    with pytest.raises(ValueError, match="prior"):
        nets().Compensator(code_ch=4, prior=False, residual=True)


def _receptive_field(module) -> int:
    """Cells of the input grid one output cell sees (stride-1 convolutions)."""
    rf = 1
    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            assert m.stride == (1, 1)
            rf += (m.kernel_size[0] - 1) * m.dilation[0]
    return rf


def test_context_s_encoder_sees_far_across_the_grid() -> None:
    """``context=True``: one cell of s sees 33 x 33 cells of the 32 x 32 feature grid (an effusion
    is told from the abdomen by the lung field around it); the local encoder sees 5 x 5. (Not
    probed by perturbation: GroupNorm couples every cell through the map's statistics.)"""
    N = nets()
    assert _receptive_field(N.Decoupler(0, code_ch=4, context=True).s_enc) == 33
    assert _receptive_field(N.Decoupler(0, code_ch=4, context=False).s_enc) == 5
    f = torch.randn(2, FEAT_CH, FEAT, FEAT, generator=torch.Generator().manual_seed(3))
    s, rate = N.Decoupler(0, code_ch=4, context=True).encode_s(f)
    assert s.shape == (2, 4, FEAT, FEAT) and rate.shape == (2,)
