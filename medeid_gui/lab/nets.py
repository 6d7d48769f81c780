"""Small CNNs for the attacker and the downstream tasks (import only where torch is wanted).

Why small: the whole evaluation (dozens of attacker retrainings) has to run on a 2-core CPU in
about an hour, at 128 px. The attacker keeps a coarse spatial map (4 x 4) before its embedding
because identity in chest radiographs is largely *where* anatomy is (Packhäuser et al. 2022
use a ResNet-50; this is the same Siamese design, scaled down).
"""

from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.b1(self.c1(x)))
        return torch.relu(self.b2(self.c2(y)) + self.skip(x))


def backbone(width: int = 16, stem: int = 4) -> nn.Sequential:
    """128 px -> (8 * width) channels at 128 / (8 * stem) px.

    The patchifying stem (stride ``stem``) is what makes dozens of retrainings affordable on a
    CPU: it is about five times cheaper than a stride-2 stem and loses little identity, which
    lives in the shapes and positions of large structures.
    """
    w = width
    return nn.Sequential(
        nn.Conv2d(1, w, stem, stem, 0, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
        Block(w, 2 * w, 2), Block(2 * w, 4 * w, 2), Block(4 * w, 8 * w, 2),
    )


class SiameseVerifier(nn.Module):
    """Embedding network + pair head on |e1 - e2| (sigmoid -> same patient)."""

    def __init__(self, width: int = 16, dim: int = 128) -> None:
        super().__init__()
        self.features = backbone(width)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.embed = nn.Linear(8 * width * 16, dim)
        self.head = nn.Sequential(nn.Linear(dim, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(torch.flatten(self.pool(self.features(x - 0.5)), 1))

    def pair_logits(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """All pairs: (A, D) x (B, D) -> (A, B) logits."""
        d = (ea[:, None, :] - eb[None, :, :]).abs()
        return self.head(d).squeeze(-1)


class Classifier(nn.Module):
    """Image-level multi-label finding classifier (logits) or a regressor (n_out=1)."""

    def __init__(self, n_out: int, width: int = 16) -> None:
        super().__init__()
        self.features = backbone(width)
        self.out = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                                 nn.Linear(8 * width * 4, 64), nn.ReLU(inplace=True),
                                 nn.Linear(64, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x - 0.5))


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Three-level U-Net for the lesion mask (logits, same size as the input; side % 16 == 0)."""

    def __init__(self, width: int = 12) -> None:
        super().__init__()
        w = width
        # works at half resolution (stride-2 stem) and upsamples the logits: four times
        # cheaper, and lesions of a few pixels survive one halving
        self.stem = nn.Sequential(nn.Conv2d(1, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True))
        self.e1, self.e2, self.e3 = _conv(w, w), _conv(w, 2 * w), _conv(2 * w, 4 * w)
        self.mid = _conv(4 * w, 8 * w)
        self.u3, self.d3 = nn.ConvTranspose2d(8 * w, 4 * w, 2, 2), _conv(8 * w, 4 * w)
        self.u2, self.d2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, 2), _conv(4 * w, 2 * w)
        self.u1, self.d1 = nn.ConvTranspose2d(2 * w, w, 2, 2), _conv(2 * w, w)
        self.outc = nn.Conv2d(w, 1, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        full = x.shape[-2:]
        x = self.stem(x - 0.5)
        a = self.e1(x)
        b = self.e2(self.pool(a))
        c = self.e3(self.pool(b))
        m = self.mid(self.pool(c))
        c = self.d3(torch.cat([self.u3(m), c], 1))
        b = self.d2(torch.cat([self.u2(c), b], 1))
        a = self.d1(torch.cat([self.u1(b), a], 1))
        out = nn.functional.interpolate(self.outc(a), size=full, mode="bilinear",
                                        align_corners=False)
        return out.squeeze(1)
