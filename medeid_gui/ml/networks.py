"""The method's networks as plain ``nn.Module`` classes (imports torch at its top).

Why a module of its own: ``medeid_gui.ml`` must stay torch-free at import time (header-only
paths and ``medeid --help``), so only the lazy loader :func:`medeid_gui.ml.nets.nets` imports
this module, from inside a function. Everything else in ``ml`` reaches the classes through
``nets()``; readers and type checkers see them here as ordinary classes. The roles of the
networks and the shape conventions are described in :mod:`medeid_gui.ml.nets`.

The order of parameter construction inside each ``__init__`` fixes the initialisation drawn from
the caller's seed, and the attribute names fix the state-dict keys of the shipped weights: both
must not change.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from medeid_gui.ml.nets import CODE_CH, EMB_DIM, FEAT_CH, GRID, ID_DIM, N_FINDINGS, WORK_SIZE

__all__ = ["ReIDNet", "IdentityMapHead", "SemanticEncoder", "MaskedDecoder", "Decoupler",
           "Compensator", "grad_reverse", "cbr"]


def cbr(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """Conv 3x3 -> GroupNorm -> SiLU, the building block of every network here."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False),
        nn.GroupNorm(min(8, cout // 4) or 1, cout),
        nn.SiLU(inplace=True),
    )


class ReIDNet(nn.Module):
    """Identity embedding; cosine classifier over training patients during training only."""

    def __init__(self, n_ids: int = 0, width: int = 16, emb: int = EMB_DIM) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            cbr(1, w, 2), cbr(w, w),  # 64
            cbr(w, 2 * w, 2), cbr(2 * w, 2 * w),  # 32
            cbr(2 * w, 4 * w, 2), cbr(4 * w, 4 * w),  # 16
            cbr(4 * w, 6 * w, 2), cbr(6 * w, 6 * w),  # 8
        )
        self.proj = nn.Linear(6 * w * 2, emb)
        self.classifier = nn.Parameter(torch.randn(max(n_ids, 1), emb) * 0.1) if n_ids else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        return F.normalize(self.proj(h), dim=1)

    def logits(self, emb: torch.Tensor, scale: float = 16.0) -> torch.Tensor:
        assert self.classifier is not None
        return scale * emb @ F.normalize(self.classifier, dim=1).t()


class IdentityMapHead(nn.Module):
    """Frame -> (B, GRID, GRID) identity-relevance logits (softmax over patches = ranking)."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            cbr(1, w, 2), cbr(w, 2 * w, 2), cbr(2 * w, 2 * w), cbr(2 * w, 3 * w, 2),  # 16
            cbr(3 * w, 3 * w), nn.Conv2d(3 * w, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if out.shape[-1] != GRID:
            out = F.adaptive_avg_pool2d(out, GRID)
        return out[:, 0]


class SemanticEncoder(nn.Module):
    """Frame -> (B, FEAT_CH, FEAT, FEAT) semantic feature map (the MFM role)."""

    out_channels = FEAT_CH

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            cbr(1, w, 2), cbr(w, w), cbr(w, 2 * w, 2), cbr(2 * w, 2 * w),
            cbr(2 * w, 2 * w), nn.Conv2d(2 * w, FEAT_CH, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MaskedDecoder(nn.Module):
    """Features -> image; only used for masked-patch pre-training of the encoder."""

    def __init__(self, cin: int = FEAT_CH, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            cbr(cin, width), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            cbr(width, width), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            cbr(width, 16), nn.Conv2d(16, 1, 3, 1, 1),
        )

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(f))


class _GradReverse(torch.autograd.Function):
    """Identity forward, gradient times ``-lam`` backward (the adversary's gradient reversal)."""

    @staticmethod
    def forward(ctx, x, lam):  # type: ignore[override]
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        return -ctx.lam * g, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """``x`` unchanged, with its gradient reversed and scaled by ``lam`` on the way back."""
    return _GradReverse.apply(x, lam)


class Decoupler(nn.Module):
    """MDL split of semantic features into s (rate-limited, finding-bearing) and i (identity)."""

    def __init__(self, n_ids: int = 0, cin: int = FEAT_CH, width: int = 48,
                 code_ch: int = CODE_CH, context: bool = False) -> None:
        super().__init__()
        w = width
        self.code_ch = code_ch
        if context:
            # dilated stack (receptive field 33 x 33 cells of the 32 x 32 grid): a finding such as a
            # pleural effusion is a bright band that looks locally like the abdomen; only
            # the surrounding lung field tells them apart, which a 5-cell field cannot see
            self.s_enc = nn.Sequential(cbr(cin, w), cbr(w, w, dilation=2), cbr(w, w, dilation=4),
                                       cbr(w, w, dilation=8), cbr(w, w),
                                       nn.Conv2d(w, 2 * code_ch, 1))
        else:
            self.s_enc = nn.Sequential(cbr(cin, w), cbr(w, w), nn.Conv2d(w, 2 * code_ch, 1))
        self.i_enc = nn.Sequential(cbr(cin, w, 2), cbr(w, w, 2))
        self.i_proj = nn.Linear(w, ID_DIM)
        self.f_dec = nn.Sequential(cbr(code_ch + ID_DIM, w), cbr(w, w), nn.Conv2d(w, cin, 1))
        # finding head on s: per-location finding logits (3) -> image-level by log-sum-exp
        self.find_head = nn.Sequential(cbr(code_ch, w), cbr(w, w), nn.Conv2d(w, N_FINDINGS, 1))
        # identity adversary on s (sees s only through gradient reversal): an embedding
        # trained contrastively to tell patients apart, which s must defeat
        self.adv = nn.Sequential(cbr(code_ch, w, 2), cbr(w, 2 * w, 2), cbr(2 * w, 2 * w, 2))
        self.adv_fc = nn.Linear(2 * w, EMB_DIM)

    def encode_s(self, f: torch.Tensor, sample: bool = False,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, rate): the code (posterior mean, or a sample) and its KL rate in nats per image."""
        mu, logvar = self.s_enc(f).chunk(2, 1)
        logvar = logvar.clamp(-8.0, 4.0)
        if sample:  # reparameterised sample; noise from the caller's generator (reproducible)
            eps = torch.randn(mu.shape, generator=generator).to(mu.device)
            s = mu + eps * (0.5 * logvar).exp()
        else:
            s = mu
        # KL(q(s|f) || N(0, 1)) in nats per image: the description length of s
        rate = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum((1, 2, 3))
        return s, rate

    def encode_i(self, f: torch.Tensor) -> torch.Tensor:
        return self.i_proj(self.i_enc(f).mean((2, 3)))

    def decode_f(self, s: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        ib = i[:, :, None, None].expand(-1, -1, s.shape[2], s.shape[3])
        return self.f_dec(torch.cat([s, ib], 1))

    def findings(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-location logits (B, 3, FEAT, FEAT), image-level logits (B, 3))."""
        loc = self.find_head(s)
        img = torch.logsumexp(loc.flatten(2), 2) - float(torch.log(torch.tensor(loc[0, 0].numel())))
        return loc, img

    def adversary(self, s: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
        """L2-normalised identity embedding of s, behind gradient reversal of strength lam."""
        h = self.adv(grad_reverse(s, lam))
        return F.normalize(self.adv_fc(h.mean((2, 3))), dim=1)


class Compensator(nn.Module):
    """Small U-Net filling blocked patches from visible context, mask, noise and a code.

    The full-resolution input is folded 2x2 into channels (pixel unshuffle) and the output
    unfolded again (pixel shuffle), so no convolution runs at the full working resolution:
    a quarter of the cost, still one output value per working pixel.

    ``prior=True``: the blocked patches are not shown as zeros but as a fixed prior image
    (a buffer saved with the weights, e.g. the training set's median chest). Without it a
    fully blocked frame gives the network no idea where it is beyond its receptive field
    except what the code s says -- so s had to carry the anatomy (the identity).
    ``residual=True`` (needs the prior): the output is the prior corrected in logit space.
    """

    def __init__(self, code_ch: int = CODE_CH, width: int = 24, prior: bool = False,
                 residual: bool = False, size: int = WORK_SIZE) -> None:
        super().__init__()
        w = width
        if residual and not prior:
            raise ValueError("a residual compensator needs a prior image")
        self.residual = residual
        if prior:
            self.register_buffer("prior", torch.zeros(1, 1, size, size))  # the working size
        else:
            self.prior = None
        self.e1 = nn.Sequential(cbr(12, w), cbr(w, w))  # R/2
        self.e2 = nn.Sequential(cbr(w, 2 * w, 2), cbr(2 * w, 2 * w))  # R/4 = FEAT
        self.code = nn.Sequential(cbr(code_ch, 2 * w), cbr(2 * w, 2 * w))
        self.e3 = nn.Sequential(cbr(4 * w, 3 * w, 2), cbr(3 * w, 3 * w), cbr(3 * w, 3 * w))  # R/8
        self.d2 = nn.Sequential(cbr(3 * w + 4 * w, 2 * w), cbr(2 * w, 2 * w))
        self.d1 = nn.Sequential(cbr(2 * w + w, w), nn.Conv2d(w, 4, 3, 1, 1))
        if residual:  # starts as "the prior, unchanged"; learns what to draw on top of it
            nn.init.zeros_(self.d1[-1].weight)
            nn.init.zeros_(self.d1[-1].bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, code: torch.Tensor,
                noise: torch.Tensor) -> torch.Tensor:
        """x, mask, noise: (B, 1, R, R); code: (B, C, FEAT, FEAT). Returns the raw fill."""
        vis = x * (1.0 - mask)
        if self.prior is not None:
            vis = vis + self.prior.to(x.dtype) * mask
        h1 = self.e1(F.pixel_unshuffle(torch.cat([vis, mask, noise], 1), 2))
        h2 = torch.cat([self.e2(h1), self.code(code)], 1)
        h3 = self.e3(h2)
        up = functools.partial(F.interpolate, scale_factor=2, mode="bilinear", align_corners=False)
        g2 = self.d2(torch.cat([up(h3), h2], 1))
        out = F.pixel_shuffle(self.d1(torch.cat([up(g2), h1], 1)), 2)
        if self.residual:
            # a correction of the prior in logit space: the fill is the prior itself unless
            # the network draws something (a finding) on it. Reproducing the prior through
            # the U-Net's bottleneck instead blurred it, and the task models read the
            # blurred lung fields as diseased (lesion-burden R^2 < 0 at p = 1).
            return torch.sigmoid(torch.logit(self.prior.to(x.dtype).clamp(1e-3, 1 - 1e-3)) + out)
        return torch.sigmoid(out)
