"""The compensator stage: what blocked patches are trained towards, and the losses on the fill.

Why separate: it is the largest stage (template target, drawn region, proxy segmenter, online
identity critic); the other stages are in ``lab.train_stages``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from medeid_gui.lab.train_loop import acquisition_jitter, blur, finding_losses, pk_batch, run_loop, training_masks

if TYPE_CHECKING:
    import torch

    from medeid_gui.lab.method_data import MethodData
    from medeid_gui.lab.train_checkpoint import Checkpoint
    from medeid_gui.lab.train_config import TrainConfig
    from medeid_gui.ml.model import MedeidModel


def dilate4(mask: np.ndarray, steps: int) -> np.ndarray:
    """``mask`` grown by ``steps`` 4-connected steps, outside the image counted as empty: what
    ``scipy.ndimage.binary_dilation(mask, iterations=steps)`` gives, in numpy (the training runs
    in the installer bundle, which has no scipy)."""
    out = np.asarray(mask, dtype=bool).copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def drawn_region(data, effusion_context: int):
    """(N, 1, R, R) float mask of the pixels a template-target fill takes from the study: its
    lesions, and with ``effusion_context`` > 0 every pixel within that many (4-connected) steps
    of an effusion. Why the context: an effusion is not only its fluid; the blunted
    costophrenic angle and the hidden diaphragm around it are how a reader (and the burden
    regression) sizes it. Pasting only the fluid onto the median chest left the median's
    diaphragm beside it; with 10 px of context the ideal target (the study's pixels there, the
    median elsewhere) kept 96 % of the burden R^2 instead of 87 %, at attacker AUC 0.51."""
    import torch

    if data.lesion_px is None:
        return None
    region = data.lesion_px > 0
    if effusion_context > 0:
        if data.lesion_maps is None:
            raise ValueError("effusion_context needs per-finding lesion maps (a generated cohort)")
        from medeid_gui.lab.cohort import FINDINGS

        eff = data.lesion_maps[:, FINDINGS.index("effusion")]
        region = region | np.stack([dilate4(e, effusion_context) if e.any() else e for e in eff])
    return torch.from_numpy(region.astype(np.float32))[:, None]


def proxy_segmenter(data, cfg, ck, device, log):
    """The frozen lesion segmenter of the ``seg_weight`` loss (``lab.proxy_seg``), trained once
    per run from the seed on the training originals and kept in the checkpoint, so a resumed
    comp stage uses the same one."""
    from medeid_gui.lab.proxy_seg import load_proxy, photometric, train_proxy

    key = [int(cfg.seed), int(cfg.seg_steps)]
    saved = ck.state["extra"].get("proxy_seg")
    if saved is not None and saved.get("key") == key:
        return load_proxy(saved["state"], device)
    net = train_proxy(data.images, data.lesion_px, seed=cfg.seed, steps=cfg.seg_steps,
                      device=device, augment=photometric, log=log)
    ck.state["extra"]["proxy_seg"] = {"key": key, "state": {k: v.detach().cpu() for k, v in
                                                            net.state_dict().items()}}
    return net


def stage_comp(model: MedeidModel, data: MethodData, X: torch.Tensor, cfg: TrainConfig, j: int,
               start: int, ck: Checkpoint, device: str, log: Callable[[str], None]) -> None:
    """Train both compensators (from s, and the no-MDL ablation's from raw features) with the
    encoder, decoupler, ReID and identity-map head frozen."""
    frozen = (model.encoder, model.decoupler, model.reid, model.idmap)
    fscale = ck.state["extra"].get("feature_scale", 1.0)
    model.config["feature_scale"] = fscale
    for m in frozen:
        m.eval()
        for q in m.parameters():
            q.requires_grad_(False)
    step = _CompStep(model, data, X, cfg, j, start, ck, device, log, fscale)
    comps = step.comps
    params = list(comps[0].parameters()) + list(comps[1].parameters())
    run_loop("comp", model, cfg, j, start, ck, comps, params, step, log,
             aux={"critic": step.critic, "critic_opt": step.critic_opt}
             if step.critic is not None else None)
    for m in frozen:
        for q in m.parameters():
            q.requires_grad_(True)


def _critic_logits(e_src: torch.Tensor, e_out: torch.Tensor) -> torch.Tensor:
    """Row b: which original (of the batch's other images) matches compensated image b."""
    import torch

    eye = torch.eye(len(e_src), dtype=torch.bool, device=e_src.device)
    return (e_out @ e_src.t() / 0.1).masked_fill(eye, -1e9)


def task_teachers(data, cfg, ck, device, log):
    """The frozen task teachers of the ``task_weight`` loss (``lab.task_teachers``), or None
    (no labels, weight 0, or too few labels). Trained once per run on the training originals and
    kept in the checkpoint, so a resumed comp stage uses the same ones."""
    from medeid_gui.lab.task_teachers import enough_labels, freeze, teacher_state, train_teachers

    td = getattr(data, "task_data", None)
    if td is None or cfg.task_weight <= 0:
        return None
    if not enough_labels(td.image_labels):
        ck.state["extra"]["task_teachers_summary"] = \
            "task teachers: none (the labels CSV labels too few training images)"
        log(ck.state["extra"]["task_teachers_summary"])
        return None
    key = [int(cfg.seed), int(cfg.task_epochs), len(data), len(td.images)]
    saved = ck.state["extra"].get("task_teachers")
    state = saved["state"] if saved is not None and saved.get("key") == key else None
    t = train_teachers(data.images, td, seed=cfg.seed, epochs=cfg.task_epochs, log=log, state=state)
    ck.state["extra"]["task_teachers_summary"] = t.describe()  # for the card
    log(t.describe())
    if not t.any:
        return None
    ck.state["extra"]["task_teachers"] = {"key": key, "state": teacher_state(t)}
    return freeze(t, device)


class _CompStep:
    """The comp stage's step function and what it needs, set up once in the order that fixes the
    random draws: drawn region, proxy segmenter (its own seed), template, critic (seeded here)."""

    def __init__(self, model: MedeidModel, data: MethodData, X: torch.Tensor, cfg: TrainConfig,
                 j: int, start: int, ck: Checkpoint, device: str, log: Callable[[str], None],
                 fscale: float) -> None:
        import torch

        self.model, self.data, self.X, self.cfg, self.device = model, data, X, cfg, device
        self.fscale = fscale
        self.comps = [model.compensator, model.compensator_raw]
        self.Lp = torch.from_numpy(data.lesion_px)[:, None] if data.lesion_px is not None else None
        self.region = drawn_region(data, cfg.effusion_context if cfg.comp_target == "template" else 0)
        self.proxy = proxy_segmenter(data, cfg, ck, device, log) \
            if cfg.seg_weight > 0 and self.Lp is not None else None
        if cfg.comp_target not in ("source", "template"):
            raise ValueError(f"comp_target must be 'source' or 'template', not {cfg.comp_target!r}")
        self.teachers = task_teachers(data, cfg, ck, device, log)
        self.template = self.alpha = None
        if cfg.comp_target == "template":
            # the anatomy the fill is trained towards belongs to no single patient: the pixelwise
            # median of all training images; the study's own lesions (soft, slightly dilated
            # masks) are blended in, so the findings stay where they are
            template = torch.from_numpy(np.median(data.images, 0).astype(np.float32))[None, None]
            self.template = template.to(device)
            for c in self.comps:  # shown in the blocked patches (Compensator prior), saved with it
                c.prior.copy_(self.template)
            self.alpha = blur(self.region, 5).mul(3.0).clamp(0, 1) if self.region is not None else None
        self.critic = self.critic_opt = None
        if cfg.lam_critic > 0:
            self._make_critic(j, start, ck)
        self.n_pat = max(2, cfg.comp_batch // 2)

    def _make_critic(self, j: int, start: int, ck: Checkpoint) -> None:
        """An identity critic retrained as it goes, the way the evaluation retrains its attacker
        on released images: it matches a compensated study to the original of the same patient's
        other study; the compensators are trained to leave it at chance. Unlike the frozen own
        ReID (which a compensator learns to fool without removing identity), it adapts to
        whatever identity the fill still carries."""
        import torch

        from medeid_gui.ml.nets import nets

        torch.manual_seed(self.cfg.seed * 1000 + j)
        self.critic = nets().ReIDNet(0).to(self.device)
        self.critic_opt = torch.optim.AdamW(self.critic.parameters(), lr=self.cfg.lr, weight_decay=1e-4)
        if start and "critic" in ck.state.get("aux", {}):
            self.critic.load_state_dict(ck.state["aux"]["critic"])
            self.critic_opt.load_state_dict(ck.state["aux"]["critic_opt"])
        self.critic.train()

    def _target(self, x: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
        """What the blocked patches are trained towards (the frame, or template + own lesions)."""
        if self.template is None:
            return x
        target = self.template.expand_as(x)
        if self.alpha is not None:
            a = self.alpha[idx].to(self.device)
            target = target * (1 - a) + x * a
        return target

    def __call__(self, g: torch.Generator, rng: np.random.Generator,
                 k: int) -> tuple[torch.Tensor, dict[str, float]]:
        import torch

        cfg, data, device, m = self.cfg, self.data, self.device, self.model
        if self.critic is not None:  # pairs of studies: n_pat patients x 2 images
            idx = pk_batch(rng, data.patients, self.n_pat, 2)
        else:
            idx = rng.choice(len(self.X), size=min(cfg.comp_batch, len(self.X)), replace=False)
        x = self.X[idx].to(device)
        with torch.no_grad():
            f = m.encoder(x) / self.fscale
            s = m.decoupler.encode_s(f, sample=False)[0]
            e_src = m.reid(x)
            mask, _ = training_masks(m.idmap(x), rng, device, p_full=cfg.p_full, size=x.shape[-1])
        noise = torch.randn(x.shape, generator=g).to(device)
        w = 1.0 + (cfg.lesion_weight * self.region[idx].to(device) if self.region is not None else 0.0)
        target = self._target(x, idx)
        crit = None
        if self.critic is not None:
            e_src_c = self.critic(acquisition_jitter(x, g))
            # the compensators' loss sees a frozen copy, so that the critic's own update below
            # does not change weights their graph still needs
            crit = (e_src_c, {n: v.detach().clone() for n, v in self.critic.named_parameters()})
        total, parts, outs = 0.0, {}, []
        for tag, comp, code in (("s", self.comps[0], s), ("raw", self.comps[1], f)):
            loss, y = self._fill_loss(tag, comp, code, x, mask, noise, w, target, e_src, idx,
                                      crit, parts)
            outs.append(y)
            total = total + loss
        if crit is not None:
            self._critic_step(crit[0], outs, len(idx), parts)
        return total, parts

    def _fill_loss(self, tag: str, comp: torch.nn.Module, code: torch.Tensor, x: torch.Tensor,
                   mask: torch.Tensor, noise: torch.Tensor, w: torch.Tensor | float,
                   target: torch.Tensor, e_src: torch.Tensor, idx: np.ndarray,
                   crit: tuple[torch.Tensor, dict[str, torch.Tensor]] | None,
                   parts: dict[str, float]) -> tuple[torch.Tensor, torch.Tensor]:
        """One compensator's loss on this batch (and its composed output ``y``); logs into parts."""
        import torch
        import torch.nn.functional as F

        cfg, data, device, m = self.cfg, self.data, self.device, self.model
        fill = comp(x, mask, code, noise)
        if cfg.fill_notch:  # judge the fill as the app shows it: a pattern the notch removes
            from medeid_gui.ml.fill_repair_torch import nyquist_notch  # carries nothing

            fill = nyquist_notch(fill[:, 0])[:, None]
        y = x * (1 - mask) + fill * mask
        l_rec = ((fill - target).abs() * mask * w).sum() / (mask * w).sum().clamp_min(1)
        cos = (m.reid(y) * e_src).sum(1)
        l_id = F.relu(cos - cfg.id_margin).mean()
        loss = l_rec + cfg.lam_id_comp * l_id
        if cfg.border_weight > 0:
            from medeid_gui.lab.border_loss import border_step_excess

            l_seam = border_step_excess(y, x, mask)
            loss = loss + cfg.border_weight * l_seam
            parts[f"seam_{tag}"] = l_seam.item()
        if data.findings is not None:
            s_y = m.decoupler.encode_s(m.encoder(y) / self.fscale, sample=False)[0]
            loss = loss + 0.2 * finding_losses(
                m.decoupler, s_y, torch.from_numpy(data.findings[idx]).to(device),
                torch.from_numpy(data.lesions[idx]).to(device), cfg.lesion_pos_weight)
        if self.proxy is not None:
            from medeid_gui.lab.torch_util import dice_bce_loss

            l_seg = dice_bce_loss(self.proxy(y), self.Lp[idx].to(device))
            loss = loss + cfg.seg_weight * l_seg
            parts[f"seg_{tag}"] = l_seg.item()
        if self.teachers is not None:
            from medeid_gui.lab.task_teachers import teacher_loss

            l_task, tparts = teacher_loss(self.teachers, y, idx)
            loss = loss + cfg.task_weight * l_task
            parts.update({f"{k}_{tag}": v for k, v in tparts.items()})
        if crit is not None:
            # push the critic's belief about which original matches to uniform (chance)
            e_y = torch.func.functional_call(self.critic, crit[1], (y,))
            logp = torch.log_softmax(_critic_logits(crit[0].detach(), e_y), 1)
            valid = torch.isfinite(logp) & (logp > -1e8)
            l_crit = -(logp * valid).sum(1).div(valid.sum(1)).mean() - math.log(len(idx) - 1)
            loss = loss + cfg.lam_critic * l_crit
            parts[f"crit_{tag}"] = l_crit.item()
        parts[f"rec_{tag}"] = l_rec.item()
        parts[f"cos_{tag}"] = cos.mean().item()
        return loss, y

    def _critic_step(self, e_src_c: torch.Tensor, outs: list[torch.Tensor], n: int,
                     parts: dict[str, float]) -> None:
        """The critic's own step, on detached outputs of both compensators."""
        import torch
        import torch.nn.functional as F

        partner = torch.from_numpy(np.arange(n) ^ 1).to(self.device)  # the other study
        l_c = sum(F.cross_entropy(_critic_logits(e_src_c, self.critic(y.detach())), partner)
                  for y in outs) / len(outs)
        self.critic_opt.zero_grad(set_to_none=True)
        l_c.backward()
        self.critic_opt.step()
        parts["critic"] = l_c.item()
