"""The compensators' proxy lesion segmenter: learns bright blobs, comes back frozen, is cheap."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from medeid_gui.lab.metrics import dice  # noqa: E402 - only once torch is known to be installed
from medeid_gui.lab.proxy_seg import build_proxy, photometric, train_proxy  # noqa: E402 - only once torch is known to be installed
from medeid_gui.lab.torch_util import dice_bce_loss, predict  # noqa: E402 - only once torch is known to be installed


def _blobs(n: int, seed: int, size: int = 64):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    imgs = rng.normal(0.35, 0.05, (n, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), np.float32)
    for i in range(n):
        for _ in range(rng.integers(0, 3)):
            cy, cx, r = rng.integers(10, size - 10, 2).tolist() + [int(rng.integers(3, 8))]
            disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            masks[i][disc] = 1
    imgs = np.clip(imgs + 0.35 * masks, 0, 1).astype(np.float32)
    return imgs, masks


def test_proxy_learns_lesions_and_is_frozen() -> None:
    torch.set_num_threads(1)
    x, m = _blobs(48, 0)
    net = train_proxy(x, m, seed=0, steps=150, batch=8, augment=photometric)
    xt, mt = _blobs(16, 1)
    assert dice(predict(net, xt, "cpu")[:, 0] > 0, mt) > 0.7
    assert not net.training and not any(q.requires_grad for q in net.parameters())
    # the same seed gives the same network
    again = train_proxy(x, m, seed=0, steps=150, batch=8, augment=photometric)
    for a, b in zip(net.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_proxy_output_size_and_gradient_reaches_the_input() -> None:
    net = build_proxy().eval()
    x = torch.rand(2, 1, 128, 128, requires_grad=True)
    out = net(x)
    assert out.shape == (2, 1, 128, 128)
    dice_bce_loss(out, torch.zeros_like(out)).backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_proxy_needs_images() -> None:
    with pytest.raises(ValueError, match="at least two"):
        train_proxy(np.zeros((1, 8, 8), np.float32), np.zeros((1, 8, 8), np.float32), seed=0)
