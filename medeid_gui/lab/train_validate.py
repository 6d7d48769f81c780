"""Validation figures of a trained model, written into ``medeid-training.json`` and the cards."""

from __future__ import annotations

from typing import Any

import numpy as np


def verification_auc(emb: np.ndarray, labels: np.ndarray) -> float:
    """AUC of cosine similarity for same-patient vs different-patient pairs (all pairs)."""
    from medeid_gui.lab.metrics import roc_auc  # scipy: not at import (the CLI parser loads this module)

    sim = emb @ emb.T
    iu = np.triu_indices(len(emb), 1)
    return roc_auc((labels[:, None] == labels[None, :])[iu], sim[iu])


def binary_auc(score: np.ndarray, y: np.ndarray) -> float:
    from medeid_gui.lab.metrics import roc_auc

    return roc_auc(y, score)


def evaluate_trained(model, data, val, cfg, device) -> dict[str, Any]:
    """Validation figures for the model cards (patient-disjoint val split when a cohort)."""
    import torch

    from medeid_gui.ml.nets import GRID
    from medeid_gui.ml.patches import grid_mask, random_order, rank_patches, upsample_grid

    ev = val if val is not None else data
    WORK_SIZE = model.work_size  # the model's working resolution
    X = torch.from_numpy(ev.images)[:, None].to(device)
    out: dict[str, Any] = {"split": "val" if val is not None else "train (no val split)",
                           "n_images": len(ev)}
    fscale = model.config.get("feature_scale", 1.0)
    with torch.no_grad():
        emb = torch.cat([model.reid(X[i:i + 64]) for i in range(0, len(X), 64)]).cpu().numpy()
        out["reid_verification_auc"] = verification_auc(emb, ev.patients)
        f = torch.cat([model.encoder(X[i:i + 64]) for i in range(0, len(X), 64)]) / fscale
        s = model.decoupler.encode_s(f)[0]
        rate = model.decoupler.encode_s(f)[1]
        out["rate_nats_per_image"] = float(rate.mean())
        if ev.findings is not None:
            _, img = model.decoupler.findings(s)
            out["finding_auc_from_s"] = {n: binary_auc(img[:, c].cpu().numpy(), ev.findings[:, c])
                                         for c, n in enumerate(("nodule", "effusion", "opacity"))}
        # identity left in s vs in raw features: verification AUC of pooled codes (probe-free)
        def pooled(t):
            v = torch.cat([t.mean((2, 3)), t.flatten(1)], 1)
            v = v - v.mean(0, keepdim=True)
            return torch.nn.functional.normalize(v, dim=1).cpu().numpy()
        out["verification_auc_raw_features"] = verification_auc(pooled(f), ev.patients)
        out["verification_auc_semantic_code"] = verification_auc(pooled(s), ev.patients)
        # identity map: own-ReID similarity to the unaltered image after grey-filling 25 %
        logits = model.idmap(X)
        for name in ("identity", "random"):
            sims = []
            for j in range(len(X)):
                order = rank_patches(logits[j].cpu().numpy(), j) if name == "identity" else \
                    random_order(GRID * GRID, j)
                m = torch.from_numpy(upsample_grid(grid_mask(order, 0.25, GRID),
                                                   (WORK_SIZE, WORK_SIZE)).astype(np.float32)).to(device)
                xb = X[j:j + 1] * (1 - m) + X[j:j + 1].mean() * m
                sims.append(float((model.reid(xb) * model.reid(X[j:j + 1])).sum()))
            out[f"own_reid_cos_after_grey_25pct_{name}"] = float(np.mean(sims))
        # compensation at p = 0.5 and 1: L1 in blocked patches, own-ReID cosine to the source
        for p in (0.5, 1.0):
            rec, cos = [], []
            for j in range(len(X)):
                order = rank_patches(logits[j].cpu().numpy(), j)
                m = torch.from_numpy(upsample_grid(grid_mask(order, p, GRID),
                                                   (WORK_SIZE, WORK_SIZE)).astype(np.float32)).to(device)[None, None]
                noise = torch.from_numpy(np.random.default_rng([j, 3]).standard_normal(
                    (WORK_SIZE, WORK_SIZE)).astype(np.float32))[None, None].to(device)
                fill = model.compensator(X[j:j + 1], m, s[j:j + 1], noise)
                y = X[j:j + 1] * (1 - m) + fill * m
                rec.append(float(((fill - X[j:j + 1]).abs() * m).sum() / m.sum()))
                cos.append(float((model.reid(y) * model.reid(X[j:j + 1])).sum()))
            out[f"comp_p{p:g}_l1_blocked"] = float(np.mean(rec))
            out[f"comp_p{p:g}_own_reid_cos"] = float(np.mean(cos))
    return out
