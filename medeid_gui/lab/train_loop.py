"""The pieces every training stage shares: seeded draws, batches, jitter, masks, losses, the loop.

Why one module: the reproducibility promise (every random draw of step ``k`` of stage ``j`` comes
from ``(seed, j, k)``) is kept by ``step_generators`` and ``run_loop`` together; stages only
supply a step function.
"""

from __future__ import annotations

import math
import time

import numpy as np


def step_generators(seed: int, stage: int, step: int):
    import torch

    g = torch.Generator()
    g.manual_seed(int(np.random.default_rng([seed, stage, step]).integers(0, 2**62)))
    return g, np.random.default_rng([seed, stage, step, 1])


def pk_batch(rng: np.random.Generator, patients: np.ndarray, p: int, k: int) -> np.ndarray:
    ids = np.unique(patients)
    chosen = rng.choice(ids, size=min(p, len(ids)), replace=False)
    out = []
    for c in chosen:
        idx = np.flatnonzero(patients == c)
        out.extend(rng.choice(idx, size=k, replace=len(idx) < k))
    return np.array(out)


def acquisition_jitter(x, g):
    """Acquisition-like jitter: small shift/scale/rotation, gamma, noise (not identity)."""
    import torch
    import torch.nn.functional as F

    b = x.shape[0]
    r = torch.rand(b, 5, generator=g).to(x.device)
    ang = (r[:, 0] - 0.5) * 0.1
    sc = 1.0 + (r[:, 1] - 0.5) * 0.1
    tx, ty = (r[:, 2] - 0.5) * 0.1, (r[:, 3] - 0.5) * 0.1
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    gamma = (0.8 + 0.4 * r[:, 4]).view(b, 1, 1, 1)
    y = y.clamp(1e-4, 1).pow(gamma)
    return (y + 0.01 * torch.randn(y.shape, generator=g).to(x.device)).clamp(0, 1)


def blur(x, k: int = 9):
    import torch.nn.functional as F

    return F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, 1)


def training_masks(idmap_logits, rng: np.random.Generator, device, *, random_frac: float = 0.5,
               p_full: float = 0.3, size: int | None = None):
    """Training masks: p mixture (``p_full`` of them full blocking, the rest p ~ U(0.05, 1)),
    identity-ranked or random order."""
    import torch

    from medeid_gui.ml.nets import GRID, WORK_SIZE
    from medeid_gui.ml.patches import grid_mask, random_order, rank_patches, upsample_grid

    WORK_SIZE = size or WORK_SIZE  # the model's working resolution
    b = idmap_logits.shape[0]
    scores = idmap_logits.detach().float().cpu().numpy()
    out = np.zeros((b, WORK_SIZE, WORK_SIZE), np.float32)
    ps = np.where(rng.random(b) < p_full, 1.0, rng.uniform(0.05, 1.0, b))
    for j in range(b):
        seed = int(rng.integers(0, 2**31))
        order = random_order(GRID * GRID, seed) if rng.random() < random_frac else \
            rank_patches(scores[j], seed)
        out[j] = upsample_grid(grid_mask(order, float(ps[j]), GRID), (WORK_SIZE, WORK_SIZE))
    return torch.from_numpy(out)[:, None].to(device), torch.from_numpy(ps.astype(np.float32)).to(device)


def patch_mask(b: int, ratio: float, g, device, size: int | None = None):
    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.nets import GRID, WORK_SIZE

    WORK_SIZE = size or WORK_SIZE  # the model's working resolution

    m = (torch.rand(b, 1, GRID, GRID, generator=g) < ratio).float()
    return F.interpolate(m, size=(WORK_SIZE, WORK_SIZE), mode="nearest").to(device)


def finding_losses(dec, s, findings, lesions, pos_weight: float = 1.0):
    import torch.nn.functional as F

    loc, img = dec.findings(s)
    w = 1.0 + (pos_weight - 1.0) * (lesions > 0).float() if pos_weight != 1.0 else None
    return F.binary_cross_entropy_with_logits(img, findings) + \
        F.binary_cross_entropy_with_logits(loc, lesions, weight=w) * 4.0


def supcon(e, y, temperature: float = 0.1):
    """Supervised contrastive loss of L2-normalised embeddings ``e`` with labels ``y``."""
    import torch

    eye = torch.eye(len(y), dtype=torch.bool, device=e.device)
    pos = (y[:, None] == y[None, :]) & ~eye
    sim = (e @ e.t() / temperature).masked_fill(eye, -1e9)
    logp = sim - torch.logsumexp(sim, 1, keepdim=True)
    return -(logp * pos).sum(1).div(pos.sum(1).clamp_min(1)).mean()


def run_loop(name, model, cfg, j, start, ck, modules, params, step_fn, log, aux=None):
    import torch

    n = cfg.stage_steps(name)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)

    def lr_at(k: int) -> float:
        return min(1.0, (k + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(k, n) / n))

    if start and ck.state.get("opt"):
        opt.load_state_dict(ck.state["opt"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at, last_epoch=start - 1)
    else:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    for m in modules:
        m.train()
    t0 = time.perf_counter()
    for step in range(start, n):
        g, rng = step_generators(cfg.seed, j, step)
        loss, parts = step_fn(g, rng, step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        sched.step()
        if (step + 1) % cfg.ckpt_every == 0 or step + 1 == n:
            ck.save(model, name, step + 1, opt, aux)
            rate = (step + 1 - start) / max(time.perf_counter() - t0, 1e-9)
            log(f"[{name}] {step + 1}/{n} loss {loss.item():.4f} "
                + " ".join(f"{k} {v:.3f}" for k, v in parts.items()) + f" ({rate:.1f} it/s)")
    for m in modules:
        m.eval()
