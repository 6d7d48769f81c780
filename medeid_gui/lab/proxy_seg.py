"""A lesion segmenter that supervises the compensators (training only, never shipped).

Why: a fully blocked frame is the median chest with the study's findings drawn back in from the
semantic code s. An L1 loss towards the findings' pixels draws them soft and haloed (the
mean of what s allows), and a segmentation network trained on original images reads the halo as
lesion: at p = 1 the evaluation's segmenter found the drawn lesions about as often as in the
ideal target but with precision 0.58 instead of 0.84. A frozen segmenter trained here on the
*training* split's originals turns "is the finding still where it was, and nowhere else?" into a
loss (the utility term of PriCheXy-Net 2023, there a classifier's). It is a dilated
fully-convolutional network, not the evaluation's U-Net, trained on other data (train split
only) with its own seed, so the compensators cannot learn to please one particular judge.
"""

from __future__ import annotations

import math

import numpy as np


def build_proxy(width: int = 16):
    """Dilated FCN on a half-size input: stride-2 stem (64 px), body at 32 px with a context of
    ~120 px of the 128 px frame, logits up-sampled back to full size. Cheap on purpose: it runs
    forward and backward in every compensator step (a full-resolution first version cost about
    1.2 s a step on one CPU thread)."""
    import torch
    from torch import nn

    def cbr(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation,
                                       bias=False),
                             nn.GroupNorm(4, cout), nn.SiLU(inplace=True))

    w = width

    class ProxySegmenter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = cbr(1, w, 2)
            self.body = nn.Sequential(cbr(w, 2 * w, 2), cbr(2 * w, 2 * w, dilation=2),
                                      cbr(2 * w, 2 * w, dilation=4), cbr(2 * w, 2 * w, dilation=8),
                                      cbr(2 * w, 2 * w))
            self.head = nn.Sequential(cbr(3 * w, w), nn.Conv2d(w, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.stem(x)
            up = nn.functional.interpolate
            b = up(self.body(h), size=h.shape[-2:], mode="bilinear", align_corners=False)
            return up(self.head(torch.cat([h, b], 1)), size=x.shape[-2:], mode="bilinear",
                      align_corners=False)

    return ProxySegmenter()


def train_proxy(images: np.ndarray, masks: np.ndarray, *, seed: int, steps: int = 600,
                batch: int = 16, lr: float = 2e-3, device: str = "cpu", augment=None, log=None):
    """Train on (N, R, R) images in [0, 1] and their (N, R, R) lesion masks; returns the network
    in eval mode with frozen parameters. ``augment(x, generator)`` jitters a batch."""
    import torch

    from medeid_gui.lab.torch_util import dice_bce_loss

    if len(images) != len(masks) or len(images) < 2:
        raise ValueError("the proxy segmenter needs at least two images with masks")
    g = torch.Generator()
    g.manual_seed(int(np.random.default_rng([seed, 77]).integers(0, 2**62)))
    rng = np.random.default_rng([seed, 78])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(0, 2**31)))
        net = build_proxy().to(device)
    X = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
    M = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))[:, None]
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 30) * 0.5 * (1 + math.cos(math.pi * k / steps)))
    net.train()
    for k in range(steps):
        idx = rng.choice(len(X), size=min(batch, len(X)), replace=False)
        x, m = X[idx].to(device), M[idx].to(device)
        if augment is not None:  # photometric jitter only: the mask must stay aligned
            x = augment(x, g)
        loss = dice_bce_loss(net(x), m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log and ((k + 1) % 100 == 0 or k + 1 == steps):
            log(f"[proxy-seg] {k + 1}/{steps} loss {loss.item():.4f}")
    return _frozen(net)


def _frozen(net):
    net.eval()
    for q in net.parameters():
        q.requires_grad_(False)
    return net


def load_proxy(state: dict, device: str = "cpu"):
    """A proxy segmenter from its state dict, frozen in eval mode (as ``train_proxy`` returns it)."""
    net = build_proxy()
    net.load_state_dict(state)
    return _frozen(net.to(device))


def photometric(x, g):
    """Gamma and noise jitter (no geometry, so masks stay aligned)."""
    import torch

    b = x.shape[0]
    r = torch.rand(b, 1, 1, 1, generator=g).to(x.device)
    y = x.clamp(1e-4, 1).pow(0.8 + 0.4 * r)
    return (y + 0.01 * torch.randn(y.shape, generator=g).to(x.device)).clamp(0, 1)
