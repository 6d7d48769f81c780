"""Write a real-set evaluation: ``STEM.md`` (the report), ``STEM.json`` (every number), ``STEM.png``.

Why every figure comes from the JSON: the Markdown is regenerated, never edited, so the report
cannot drift from the measurement; the checks of ``lab/real_eval_checks.py`` are printed next to
the numbers they compare, pass or fail.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path

from medeid_gui.lab.real_eval_checks import CHANCE, MAX_AUC_P1, MIN_TASK_SHARE, check_all, task_shares, utility

__all__ = ["render_markdown", "write_real_report"]

PUBLISHED_AUC = 0.99  # Packhäuser et al. 2022, ChestX-ray14 patient verification (Sci. Rep. 12:14851)


def _f(x: float, nd: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _show(path: str) -> str:
    """A path relative to the working folder when inside it (committed reports name no home folder)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _ci(d: dict) -> str:
    return f"{_f(d['auc'])} [{_f(d['lo'])}, {_f(d['hi'])}]"


def _yes(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _protocol(rep: dict) -> list[str]:
    c, d = rep["config"], rep["data"]
    a = c["attack"]
    return [
        "## Protocol", "",
        f"- Real set: `{_show(c['root'])}` (frontal views), patient-disjoint splits of `lab/real_cxr.py`, seed "
        f"{c['split_seed']}. Test: **{d['test_images']} images of {d['test_patients']} patients** that no model "
        f"here trained on ({d['test_covid']} COVID-19, {d['test_masks']} with lung masks, {d['test_severity']} "
        f"with severity scores). Attacker and tasks trained on the {d['train_images']} images of "
        f"{d['train_patients']} train + validation patients.",
        f"- Method weights: `{_show(c['model_dir'])}` (sha256 of its .pt files "
        f"{rep.get('model_sha256', '?')[:16]}…). Released image = the original's own size and grey "
        "levels with the method's (or the baseline's) changes, uint8.",
        "- Threat model: linkage; the attacker holds the originals and sees the released images; a pair "
        "is (original i, released j) of different days (positives: same patient; negatives: different "
        "patients), scored both ways and averaged. AUC with a 95 % patient-bootstrap CI "
        f"({c['n_boot']} resamples). 0.5 is chance.",
        "- Attackers: `thumb16` = Pearson correlation of 16×16 thumbnails (training-free); `geometry` = "
        "image height/width similarity (training-free); `thumb16+geometry` = their rank mean; `network` = "
        f"Siamese verifier at {a['size']} px pre-trained on the generated cohort ({a['pretrain_steps']} steps) "
        f"and fine-tuned on the real train patients ({a['finetune_steps']} steps), trained once on originals "
        "(it never sees a released image in training). A fixed attacker can be thrown off by a change it "
        "never saw (noise, grey blocks) without the identity being gone; the retrained attacker of "
        "`medeid ml evaluate` is not run here (CPU budget).",
        f"- Tasks ({c['task_epochs']} epochs, {a['size']} px, trained on originals): `finding_auc` = COVID-19 vs "
        "other ROC AUC; `lung_dice` = pooled Dice; `severity_r` = Pearson r of the two severity scores "
        "(geographic/8, opacity/6). Utility = mean over the informative tasks (those beating chance on "
        "originals) of score / score on originals.",
        "- Time (CPU, 1 thread, shared machine): " + ", ".join(f"{k.replace('_', ' ')} {v:.0f} s"
                                                                for k, v in rep["seconds"].items()) + ".", "",
    ]


def _originals(rep: dict) -> list[str]:
    lines = ["## Attackers on originals", "",
             f"Published for ChestX-ray14 (Packhäuser et al. 2022, a deep Siamese network trained on "
             f"tens of thousands of patients): AUC **{PUBLISHED_AUC}**.", "",
             "| attacker | AUC [95 % CI] | positive / negative pairs |", "|---|---|---|"]
    for k, v in rep["originals"].items():
        lines.append(f"| {k} | {_ci(v)} | {v['positives']} / {v['negatives']} |")
    return lines + [""]


def _attack_tables(rep: dict) -> list[str]:
    levels = rep["config"]["levels"]
    lines = ["## Attacker AUC on released test images", ""]
    attackers = list(next(iter(rep["results"].values()))[0]["attack"])
    for att in attackers:
        lines += [f"### {att}", "", "| method | " + " | ".join(f"p = {p:g}" for p in levels) + " |",
                  "|---|" + "---|" * len(levels)]
        for m, rows in rep["results"].items():
            lines.append(f"| {m} | " + " | ".join(_ci(r["attack"][att]) for r in rows) + " |")
        lines.append("")
    return lines


def _task_tables(rep: dict) -> list[str]:
    levels = rep["config"]["levels"]
    lines = ["## Task scores on released test images", "",
             "Scores (share of the score on originals).", "",
             "| method | task | " + " | ".join(f"p = {p:g}" for p in levels) + " |",
             "|---|---|" + "---|" * len(levels)]
    for m, rows in rep["results"].items():
        shares = task_shares(rep, m)
        for t in rows[0]["tasks"]:
            cells = [f"{_f(r['tasks'][t])} ({_f(100 * s[t], 0)} %)" for r, s in zip(rows, shares)]
            lines.append(f"| {m} | {t} | " + " | ".join(cells) + " |")
        lines.append(f"| {m} | **utility** | " + " | ".join(f"{_f(100 * u, 0)} %" for u in utility(rep, m)) + " |")
    return lines + [""]


def _fill_table(rep: dict) -> list[str]:
    lines = ["## Fill quality (real test images)", "",
             "Bounds (real-images issue): periodic texture ≤ 3× the original's, border step ≤ 1.5×, mean "
             "shift ≤ 0.05. Medians over the test images; `in bounds` = share of images meeting all three.", "",
             "| method | p | images | texture ratio | step ratio | mean shift (median / max) | in bounds |",
             "|---|---|---|---|---|---|---|"]
    for m, rows in rep["results"].items():
        for r in rows:
            q = r.get("fill")
            if q:
                lines.append(f"| {m} | {r['p']:g} | {q['images']} | {_f(q['texture_ratio_median'], 2)} | "
                             f"{_f(q['step_ratio_median'], 2)} | {_f(q['mean_shift_median'])} / "
                             f"{_f(q['mean_shift_max'])} | {_f(100 * q['share_ok'], 0)} % |")
    return lines + [""]


def _paired_note(d: list[float] | None) -> str:
    """' (+0.012 [-0.030, +0.051])' for a paired difference, '' without one."""
    if not d:
        return ""
    return f" ({d[0]:+.3f} [{d[1]:+.3f}, {d[2]:+.3f}])"


def _checks(rep: dict) -> list[str]:
    ch = check_all(rep)
    lines = ["## Acceptance checks (issue #15)", "",
             f"| attacker | monotone in p | AUC ≤ {MAX_AUC_P1} at p = 1 | below random blocking at .25 / .5 | "
             "≥ every baseline at equal AUC |", "|---|---|---|---|---|"]
    paired = rep.get("paired_vs_random_block", {})
    for att, c in ch["attackers"].items():
        below = " / ".join(_yes(v) + _paired_note(paired.get(att, {}).get(p))
                           for p, v in c.get("below_random_block", {}).items()) or "n/a"
        eq = [f"{b}: {_yes(e['ok'])}" + (f" (not comparable at p = {e['not_comparable_at']})"
                                         if e["not_comparable_at"] else "") for b, e in c["equal_auc"].items()]
        lines.append(f"| {att} | {_yes(c['monotone'])} | {_yes(c.get('auc_p1_ok', False))} | {below} | "
                     + "; ".join(eq) + " |")
    if paired:
        lines += ["", "Below random blocking: in brackets the difference AUC(medeid) − AUC(random-block) "
                  "over the same pairs and its 95 % CI from the same patient resamples (paired bootstrap); "
                  "where that CI holds 0, this test set cannot tell the two apart, whichever point value "
                  "is lower."]
    lines += ["", "`geometry` (and so `thumb16+geometry`) reads the image's height and width, which no pixel "
              "method changes: the method and every baseline keep its AUC at every level. Only a release "
              "resampled to one fixed size removes it (all sizes equal: AUC 0.5 by construction); the pixel "
              "methods are to be judged on `thumb16` and `network`.", ""]
    for t, v in ch.get("tasks_p1", {}).items():
        verdict = _yes(v["ok"]) if v["informative"] else (
            f"not counted: its model is at chance on the originals (≤ {CHANCE[t]})")
        lines.append(f"- {t} at p = 1: {_f(100 * v['share'], 0)} % of originals (≥ {MIN_TASK_SHARE:.0%}): {verdict}")
    return lines + [""]


def render_markdown(rep: dict, stem: str) -> str:
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = ["# Real chest radiographs: privacy–utility evaluation", "",
            f"Generated by `medeid ml evaluate-real` (medeid_gui/lab/real_eval*.py) on {when}; every number "
            f"below is in `{stem}.json`. Real images of the COVID-19 image data collection "
            "(`shared/real/cxr`, see its README for licences).", "", f"![AUC vs p, utility vs AUC]({stem}.png)", ""]
    body = (_protocol(rep) + _originals(rep) + _checks(rep) + _attack_tables(rep) + _task_tables(rep)
            + _fill_table(rep))
    return "\n".join(head + body)


def _plot(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attackers = list(next(iter(rep["results"].values()))[0]["attack"])
    fig, axes = plt.subplots(1, len(attackers) + 1, figsize=(4 * (len(attackers) + 1), 3.6))
    for ax, att in zip(axes, attackers):
        for m, rows in rep["results"].items():
            ax.plot([r["p"] for r in rows], [r["attack"][att]["auc"] for r in rows], "o-", label=m,
                    lw=2.5 if m == "medeid" else 1)
        ax.axhline(0.5, color="grey", ls=":")
        ax.set(title=f"attacker: {att}", xlabel="privacy level p", ylabel="AUC", ylim=(0.3, 1.0))
    ax = axes[-1]
    for m, rows in rep["results"].items():
        ax.plot([r["attack"]["thumb16+geometry"]["auc"] for r in rows], [100 * u for u in utility(rep, m)],
                "o-", label=m, lw=2.5 if m == "medeid" else 1)
    ax.set(title="utility vs thumb16+geometry AUC", xlabel="AUC", ylabel="utility (% of originals)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_real_report(rep: dict, out_dir: str | Path, stem: str = "EVALUATION_REAL") -> list[Path]:
    """Write ``stem``.md/.json/.png into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png"]
    full = {**rep, "checks": check_all(rep)}
    paths[0].write_text(json.dumps(full, indent=1, allow_nan=True) + "\n")
    paths[1].write_text(render_markdown(rep, stem) + "\n")
    _plot(rep, paths[2])
    return paths
