"""The first four training stages: ReID, identity map, self-supervised encoder, MDL decoupler.

Each ``stage_*`` has the signature ``(model, data, X, cfg, j, start, ck, device, log)``: the model
being trained, the training data, its images as a tensor, the run's config, the stage's index,
the step to resume from, the checkpoint, the torch device and a log function. The compensator
stage is in ``lab.train_comp``.
"""

from __future__ import annotations

import time

import numpy as np

from medeid_gui.lab.train_loop import acquisition_jitter, blur, finding_losses, patch_mask, pk_batch, run_loop, supcon


def stage_reid(model, data, X, cfg, j, start, ck, device, log):
    """Supervised contrastive loss on P x K batches (8 patients x 4 images).

    Why not a softmax over patients: with four images per patient a per-patient proxy is seen
    too rarely to converge in a short run; pairwise contrast inside the batch learns at once
    (val verification AUC 0.98 after 200 steps on the default cohort).
    """
    import torch

    reid = model.reid

    def step(g, rng, k):
        idx = pk_batch(rng, data.patients, 8, 4)
        x = acquisition_jitter(X[idx].to(device), g)
        y = torch.from_numpy(data.patients[idx]).to(device)
        return supcon(reid(x), y), {}

    run_loop("reid", model, cfg, j, start, ck, [reid], list(reid.parameters()), step, log)


def identity_targets(model, data, X, cfg, device, n_noise: int = 2):
    """(N, GRID, GRID) attribution of ReID similarity to the patient's other images."""
    import torch
    import torch.nn.functional as F

    from medeid_gui.ml.nets import GRID

    reid = model.reid.eval()
    with torch.no_grad():
        emb = torch.cat([reid(X[i:i + 64].to(device)) for i in range(0, len(X), 64)])
    targets = torch.zeros(len(X), GRID, GRID)
    g = torch.Generator().manual_seed(cfg.seed + 17)
    for i0 in range(0, len(X), 32):
        idx = np.arange(i0, min(i0 + 32, len(X)))
        anchors = []
        for i in idx:
            same = np.flatnonzero((data.patients == data.patients[i]) & (np.arange(len(X)) != i))
            a = emb[same].mean(0) if len(same) else emb[i]
            anchors.append(F.normalize(a, dim=0))
        anchors = torch.stack(anchors)
        x0 = X[idx].to(device)
        base = blur(x0)
        acc = torch.zeros(len(idx), 1, x0.shape[2], x0.shape[3], device=device)
        for _ in range(n_noise):
            x = (x0 + 0.02 * torch.randn(x0.shape, generator=g).to(device)).requires_grad_(True)
            sim = (reid(x) * anchors).sum()
            (grad,) = torch.autograd.grad(sim, x)
            acc += (grad * (x0 - base)).abs()
        targets[idx] = F.adaptive_avg_pool2d(acc, GRID)[:, 0].cpu()
    targets = targets.flatten(1)
    return (targets / targets.sum(1, keepdim=True).clamp_min(1e-12)).view(-1, GRID, GRID)


def stage_idmap(model, data, X, cfg, j, start, ck, device, log):
    import torch

    if "idmap_targets" not in ck.state["extra"]:
        t0 = time.perf_counter()
        ck.state["extra"]["idmap_targets"] = identity_targets(model, data, X, cfg, device)
        log(f"[idmap] attribution targets for {len(X)} images in {time.perf_counter() - t0:.0f} s")
    T = ck.state["extra"]["idmap_targets"]
    head = model.idmap

    def step(g, rng, k):
        idx = rng.choice(len(X), size=min(cfg.batch, len(X)), replace=False)
        x = X[idx].to(device)
        t = T[idx].to(device).flatten(1)
        logp = torch.log_softmax(head(x).flatten(1), 1)
        loss = -(t * logp).sum(1).mean() + (t * t.clamp_min(1e-12).log()).sum(1).mean()  # KL
        return loss, {}

    run_loop("idmap", model, cfg, j, start, ck, [head], list(head.parameters()), step, log)


def stage_ssl(model, data, X, cfg, j, start, ck, device, log):
    import torch

    from medeid_gui.ml.nets import nets

    enc = model.encoder
    if hasattr(enc, "trainable_state"):
        log("[ssl] foundation-model backbone: no self-supervised pre-training (projection is "
            "trained with the decoupler)")
        return
    torch.manual_seed(cfg.seed * 1000 + j)  # the pre-training decoder's initial weights
    dec = nets().MaskedDecoder().to(device)
    if start and "ssl_decoder" in ck.state.get("aux", {}):
        dec.load_state_dict(ck.state["aux"]["ssl_decoder"])

    def step(g, rng, k):
        idx = rng.choice(len(X), size=min(cfg.ssl_batch, len(X)), replace=False)
        x = acquisition_jitter(X[idx].to(device), g)
        m = patch_mask(len(idx), 0.6, g, device, size=X.shape[-1])
        rec = dec(enc(x * (1 - m)))
        err = (rec - x).pow(2)
        loss = (err * m).sum() / m.sum().clamp_min(1) + 0.1 * (err * (1 - m)).mean()
        return loss, {}

    run_loop("ssl", model, cfg, j, start, ck, [enc, dec], list(enc.parameters()) + list(dec.parameters()),
          step, log, aux={"ssl_decoder": dec})


def stage_mdl(model, data, X, cfg, j, start, ck, device, log):
    """MDL decoupling. Loss = feature reconstruction from (s, i) + beta * rate(s) + findings from
    s + identity contrast on i + identity contrast of an adversary on s (reversed into s).

    beta ramps up over the first 30 % of steps so that s first learns to carry the findings
    instead of collapsing to the prior (posterior collapse)."""
    import torch
    import torch.nn.functional as F

    enc, dec = model.encoder, model.decoupler
    n = cfg.stage_steps("mdl")
    with torch.no_grad():
        enc.eval()
        fstd = torch.cat([enc(X[i:i + 64].to(device)) for i in range(0, min(len(X), 256), 64)]).std()
    params = list(dec.parameters()) + ([p for p in enc.parameters() if p.requires_grad]
                                       if hasattr(enc, "trainable_state") else [])

    def step(g, rng, k):
        idx = pk_batch(rng, data.patients, max(2, cfg.batch // 4), 4)
        x = acquisition_jitter(X[idx].to(device), g)
        y = torch.from_numpy(data.patients[idx]).to(device)
        f = enc(x)
        if not hasattr(enc, "trainable_state"):
            f = f.detach()
        f = f / fstd
        s, rate = dec.encode_s(f, sample=True, generator=g)
        i = dec.encode_i(f)
        l_rec = F.mse_loss(dec.decode_f(s, i), f)
        l_id = supcon(F.normalize(i, dim=1), y)
        warm = min(1.0, k / max(1.0, 0.3 * n))
        l_adv = supcon(dec.adversary(s, cfg.lam_adv * warm), y)
        loss = cfg.rec_weight * l_rec + l_id + l_adv + cfg.beta_rate * warm * rate.mean()
        parts = {"rec": l_rec.item(), "id": l_id.item(), "adv": l_adv.item(), "rate": rate.mean().item()}
        if data.findings is not None:
            l_find = finding_losses(dec, s, torch.from_numpy(data.findings[idx]).to(device),
                                     torch.from_numpy(data.lesions[idx]).to(device),
                                     cfg.lesion_pos_weight)
            loss = loss + cfg.find_weight * l_find
            parts["find"] = l_find.item()
        return loss, parts

    run_loop("mdl", model, cfg, j, start, ck, [dec], params, step, log)
    model.config["feature_scale"] = float(fstd)
    ck.state["extra"]["feature_scale"] = float(fstd)
