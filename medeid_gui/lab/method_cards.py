"""Model cards for the method's weight files, written from ``medeid-training.json``.

Why generated: the figures on a card must be the ones the training run measured, and a site
that retrains (``medeid ml train``) must get cards that describe *its* weights, not ours. Called
at the end of ``train``; ``python -m medeid_gui.lab.method_cards MODELS`` rewrites them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from medeid_gui.lab.train_config import TUNABLE, TrainConfig
from medeid_gui.ml.weights import read_manifest


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    return str(v)


def _on_cuda(info: dict[str, Any]) -> bool:
    return str(info.get("device", "")).startswith("cuda")


def _command(cfg: dict[str, Any], info: dict[str, Any]) -> str:
    steps = ",".join(f"{k}={v}" for k, v in cfg["steps"].items())
    data = "COHORT" if info.get("cohort") else cfg["data"]
    parts = [f"medeid ml train {data}", f"--seed {cfg['seed']}", f"--steps {steps}"]
    if info.get("task_teachers"):  # the labels CSV's path is the site's own
        parts.append("--labels CSV")
    if info.get("init_from"):  # a fine-tune of the compensators of these weights
        parts.append(f"--init-from {info['init_from']}")
    if _on_cuda(info):
        parts.append("--device cuda")
    elif info.get("threads"):
        parts.append(f"--threads {info['threads']}")
    if cfg.get("scale", 1.0) != 1.0:
        parts.append(f"--scale {cfg['scale']}")
    if cfg.get("backbone", "medeid") != "medeid":
        parts.append(f"--backbone {cfg['backbone']}")
    if cfg.get("size", 128) != 128:
        parts.append(f"--size {cfg['size']}")
    default = TrainConfig("", "", "")
    for name, _, _ in TUNABLE:  # the hyper-parameters this run set away from the defaults
        if name in cfg and cfg[name] != getattr(default, name):
            parts.append(f"--{name.replace('_', '-')} {cfg[name]}")
    return " ".join(parts)


def _repro_line(info: dict[str, Any]) -> str:
    """What the seed promises for this run's device: CPU kernels are deterministic, CUDA's are not."""
    line = ("Seeded: every random draw of a step comes from (seed, stage, step), so on the CPU the "
            "same command on the same torch build gives the same weights, and a resumed run the "
            "same weights as an uninterrupted one.")
    if _on_cuda(info):
        line += (" This run was on CUDA, whose kernels are not deterministic: two CUDA runs with "
                 "the same seed parted at the first logged step, so it cannot be reproduced bit "
                 "for bit; the same command gives weights of the same recipe, not these.")
    return line


def _data_line(info: dict[str, Any]) -> str:
    src = info["data"]
    if src.startswith("cohort"):
        c = info.get("cohort") or {}
        cc = c.get("config") or {}
        regen = (f"`medeid ml cohort COHORT --patients {cc.get('patients')} --studies-per-patient "
                 f"{cc.get('studies_per_patient')} --seed {cc.get('seed')} --size {cc.get('size')}` "
                 f"(generator version {c.get('generator_version')}); training used its train split "
                 f"only ({info.get('n_train_images', '?')} images)") if cc else src
        return ("**Generated cohort, not patients.** Synthetic chest radiographs from "
                "`medeid_gui.lab.cohort` (identity in patient-fixed anatomy, findings with masks), "
                "patient-disjoint train/val/test splits. No real patient image was used. "
                f"Regenerate with {regen}.")
    if info.get("task_teachers"):
        return (f"A site's own archive: {src} (identity label = PatientID). Its labels CSV "
                f"(`--labels`) trained the comp stage's {info['task_teachers']} (`lab.task_teachers`: "
                "frozen task networks that score the compensated frame; trained on the training "
                "images only).")
    return f"A site's own archive: {src} (identity label = PatientID; no finding labels)."


SIZE_NOTE = ("The full default (`medeid ml train COHORT`, steps reid=1200, idmap=500, ssl=900, "
             "mdl=1000, comp=1500) has about 3.5x the steps of the committed run, i.e. about an "
             "hour at this run's speed (an estimate: the full default was not run here). The "
             "committed run was cut to fit a 2-core CPU shared by seven jobs, so every network "
             "here is under-trained.")

COMMON_LIMITS = """\
- Trained on a small generated cohort; behaviour on real radiographs, other body parts or
  modalities is unmeasured. A site should retrain on its own archive (`medeid ml train FOLDER`).
- Working resolution 128 x 128 (grey). Blocked patches receive up-sampled compensation, so they
  are smoother than the untouched pixels around them.
- The privacy figures that matter are the independent attacker's in `models/EVALUATION.md`;
  the pipeline's own ReID numbers below are not a privacy guarantee."""


def _evaluation_section(models: Path) -> str:
    """The independent evaluation's rows for the method (if ``evaluation.json`` has them)."""
    path = models / "evaluation.json"
    if not path.is_file():
        return ""
    try:
        rep = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return ""
    rows = [(name, r) for name in ("medeid", "medeid-random", "medeid-no-comp", "medeid-no-mdl")
            for r in rep.get("methods", {}).get(name, [])]
    if not rows:
        return ""
    o = rep.get("tasks_originals", {})
    a = rep.get("attacker_auc_originals", {})
    lines = ["\n## Independent evaluation (from `evaluation.json`, see `EVALUATION.md`)\n",
             f"Originals: attacker AUC {_fmt(a.get('mean'))}, classification AUC "
             f"{_fmt(o.get('classification_auc'))}, Dice {_fmt(o.get('segmentation_dice'))}, "
             f"R² {_fmt(o.get('severity_r2'))}. Generated {rep.get('generated', '?')}; these rows "
             "are only valid for the weights whose sha256 is above if the evaluation ran after "
             "they were written.\n",
             "| method | p | attacker AUC | classification AUC | Dice | R² |", "|---|---|---|---|---|---|"]
    for name, r in rows:
        t, at = r.get("tasks", {}), r.get("attacker_auc", {})
        lines.append(f"| {name} | {r.get('p'):.2f} | {_fmt(at.get('mean'))} ± {_fmt(at.get('std'))} | "
                     f"{_fmt(t.get('classification_auc'))} | {_fmt(t.get('segmentation_dice'))} | "
                     f"{_fmt(t.get('severity_r2'))} |")
    full = {r.get("p"): r for n, r in rows if n == "medeid"}
    if 1.0 in full and o:
        r1 = full[1.0]
        keep = {k: r1["tasks"][k] / o[k] for k in ("classification_auc", "segmentation_dice",
                                                     "severity_r2") if o.get(k)}
        lines.append(
            f"\nAt p = 1 the attacker AUC is {_fmt(r1['attacker_auc']['mean'])} (the project's "
            "target is <= 0.60) and the tasks keep "
            + ", ".join(f"{k} {100 * v:.0f} %" for k, v in keep.items())
            + " of their score on originals (target >= 90 %)."
            + (" The fully synthesised frame still carries identity: body outline, lung fields "
               "and heart silhouette come through the spatial semantic code s (seen on the "
               "committed weights), and the retrained attacker uses them."
               if r1["attacker_auc"]["mean"] > 0.6 else "")
            + (" Short of the utility target: a fully blocked frame is the training set's "
               "median chest plus the findings rendered from s, so what s does not carry (the "
               "finding AUCs read from s above) is lost, findings drawn by the compensator are "
               "fainter and blurrier than real ones, and the lesion-burden target divides by "
               "the patient's own lung area, which the median chest does not have."
               if r1["attacker_auc"]["mean"] <= 0.6 and min(keep.values(), default=1) < 0.9
               else ""))
    return "\n".join(lines) + "\n"


def _run_line(info: dict[str, Any]) -> str:
    """Device, torch and the time each stage took."""
    secs = info.get("seconds", {})
    total = sum(v for v in secs.values() if v)
    return (f"device {info.get('device')}, torch {info.get('torch')}, "
            f"{total / 60:.0f} min in all ({', '.join(f'{k} {v / 60:.1f}' for k, v in secs.items())} min)")


def _size_note(info: dict[str, Any]) -> str:
    """How big this run was against the default, and what a ``--redo`` reused."""
    size_note = info.get("size_note") or SIZE_NOTE
    if info.get("redo"):
        size_note += (f" This run re-trained the stages from `{info['redo']}` on (`--redo "
                      f"{info['redo']}`), starting from the snapshot of the earlier stages that "
                      "the same command trains (same seed and steps for them); the times above "
                      "are those of each stage's own run.")
    return size_note


def _head(info: dict[str, Any], man: dict[str, Any], title: str, fname: str, what: str) -> str:
    """A card's title, file line (size, sha256), description, data, command and run."""
    e = man.get(fname, {})
    return (f"# {title}\n\nFile `{fname}` ({e.get('bytes', 0) / 1e6:.2f} MB, sha256 "
            f"`{e.get('sha256', '?')}`, checked at load against `manifest.json`).\n\n{what}\n\n"
            f"## Data\n\n{_data_line(info)}\n\n## Command\n\n```\n{_command(info['config'], info)}\n```\n\n"
            f"Run: {_run_line(info)}. {_size_note(info)} {_repro_line(info)}\n\n")


def _split(m: dict[str, Any]) -> str:
    return f"{m.get('split')} ({m.get('n_images')} images)"


def _identity_card(info: dict[str, Any], man: dict[str, Any]) -> str:
    m = info["metrics"]
    return _head(
        info, man, "medeid-identity: ReID encoder + identity-map head", "medeid-identity.pt",
        "The pipeline's own re-identification encoder (an 8-layer CNN, supervised contrastive "
        "loss on 8 patients x 4 images per batch; a different architecture and seed from the evaluation "
        "attacker) and the distilled identity-map head: per 8 x 8-pixel patch (16 x 16 grid), "
        "how much the patch drives ReID similarity, learned from SmoothGrad "
        "|gradient x (image - blurred image)| attributions of the similarity to the patient's "
        "other images. The head ranks patches for blocking in one forward pass.") \
        + f"## Metrics ({_split(m)})\n\n" \
        f"- ReID verification AUC (all pairs, cosine): {_fmt(m.get('reid_verification_auc'))}\n" \
        f"- own-ReID cosine to the unaltered image after grey-filling 25 % of patches: identity-" \
        f"ranked {_fmt(m.get('own_reid_cos_after_grey_25pct_identity'))} vs random " \
        f"{_fmt(m.get('own_reid_cos_after_grey_25pct_random'))} (lower = the map finds what " \
        "identifies)\n\n## Limits\n\n" + COMMON_LIMITS + "\n"


def _semantic_card(info: dict[str, Any], man: dict[str, Any]) -> str:
    m = info["metrics"]
    return _head(
        info, man, "medeid-semantic: semantic encoder (foundation-model role)", "medeid-semantic.pt",
        "A small convolutional encoder (stride 4, 64 channels) pre-trained self-supervised by "
        "masked-patch reconstruction (60 % of 8 x 8 patches hidden) on the training split. It "
        "stands in for a medical foundation model; `--backbone timm:ARCH:CHECKPOINT` puts a "
        "real one (local file, frozen) in its place and this file then holds only the "
        "projection.") \
        + f"## Metrics ({_split(m)})\n\n" \
        f"- verification AUC of its pooled features (identity they still carry): " \
        f"{_fmt(m.get('verification_auc_raw_features'))}\n\n## Limits\n\n" + COMMON_LIMITS + "\n"


def _compensator_what(cfg: dict[str, Any]) -> str:
    """What the compensator file holds, with the sentences for the options this run used."""
    template = cfg.get("comp_target") == "template"
    return (
        "The MDL decoupler splits the semantic features into a Gaussian semantic code s "
        f"({cfg.get('code_ch', 8)} x 32 x 32, paying a KL rate in nats = its description length; a finding head "
        "must read nodules/effusion/opacity from it; an identity adversary behind gradient "
        "reversal must fail on it) and an identity code i (identity head; (s, i) must "
        "reconstruct the features). The compensator (small U-Net) fills blocked patches from "
        "the visible pixels, the mask, seeded noise and s; an identity loss penalises ReID "
        "cosine to the source above a margin. "
        + ("The blocked patches are shown to it as a prior image, the pixelwise median of "
           "the training images (anatomy of no single patient, stored in this file), and it "
           "is trained towards that median with the study's own lesions blended in, so a "
           "fully blocked frame (p = 1) becomes the median chest plus the findings that s "
           "carries. "
           if template else "")
        + ("Its output is that prior corrected in logit space (the last layer starts at "
           "zero), so what it draws on the median chest is the correction, not the whole "
           "image. "
           if template and cfg.get("comp_residual") else "")
        + (f"Around an effusion, {cfg.get('effusion_context')} px (at the 128 px working "
           "size) of the study are drawn too: the blunted costophrenic angle and the "
           "diaphragm it hides belong to the finding. "
           if template and cfg.get("effusion_context") else "")
        + (f"A frozen lesion segmenter (a small dilated network trained first, "
           f"{cfg.get('seg_steps')} steps, on the training originals; not shipped) adds its "
           f"loss, weight {cfg.get('seg_weight'):g}, on the compensated frame, so findings are "
           "drawn where they were and not around them. "
           if cfg.get("seg_weight") else "")
        + ("The s encoder is a dilated stack whose cells each see 33 x 33 cells of the "
           "feature grid (an effusion is told from the abdomen only by the lung field "
           "around it). "
           if cfg.get("s_context") else "")
        + "The file also holds the `medeid-no-mdl` "
        "ablation's compensator, trained identically but fed the undecoupled features.")


def _compensator_card(info: dict[str, Any], man: dict[str, Any]) -> str:
    m = info["metrics"]
    return _head(info, man, "medeid-compensator: MDL decoupler + compensators", "medeid-compensator.pt",
                 _compensator_what(info["config"])) \
        + f"## Metrics ({_split(m)})\n\n" \
        f"- rate of s: {_fmt(m.get('rate_nats_per_image'))} nats per image\n" \
        f"- finding AUC read from s: {_fmt(m.get('finding_auc_from_s'))}\n" \
        f"- verification AUC of pooled s (identity left in s): " \
        f"{_fmt(m.get('verification_auc_semantic_code'))} vs raw features " \
        f"{_fmt(m.get('verification_auc_raw_features'))}\n" \
        f"- compensation, identity-ranked p = 0.5: L1 in blocked patches " \
        f"{_fmt(m.get('comp_p0.5_l1_blocked'))}, own-ReID cosine to source " \
        f"{_fmt(m.get('comp_p0.5_own_reid_cos'))}; p = 1: L1 {_fmt(m.get('comp_p1_l1_blocked'))}, " \
        f"cosine {_fmt(m.get('comp_p1_own_reid_cos'))}\n\n## Limits\n\n" + COMMON_LIMITS + "\n"


def write_cards(models: str | Path) -> list[Path]:
    """Write the three cards (and the evaluation's rows on the compensator's) into ``models``."""
    models = Path(models)
    info = json.loads((models / "medeid-training.json").read_text(encoding="utf-8"))
    man = read_manifest(models)["files"]
    cards = {"medeid-identity.md": _identity_card(info, man),
             "medeid-semantic.md": _semantic_card(info, man),
             "medeid-compensator.md": _compensator_card(info, man)}
    cards["medeid-compensator.md"] += _evaluation_section(models)
    out = []
    for name, text in cards.items():
        (models / name).write_text(text, encoding="utf-8")
        out.append(models / name)
    return out


if __name__ == "__main__":  # pragma: no cover
    for p in write_cards(sys.argv[1] if len(sys.argv) > 1 else "models"):
        print(p)
