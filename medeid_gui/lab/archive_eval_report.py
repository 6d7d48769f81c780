"""Write the held-out evaluation of an archive model into its folder: card, report, plot, manifest line.

Why every figure comes from one dict (``lab.archive_eval.evaluate_heldout``), saved as
``heldout-evaluation.json``: the Markdown report, the plot, the card's section and the one line
the registry and Settings show (the manifest's ``evaluation``) are all rendered from it, so they
cannot disagree.  The three report files are recorded in the manifest with their sha256, so they
travel with the model when it is exported and a changed one is refused like a changed weight.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from medeid_gui.lab.archive_eval_tasks import TASK_NAMES

__all__ = ["CARD", "SECTION", "STEM", "headline", "render_markdown", "write_heldout_report",
           "write_no_evaluation"]

STEM = "heldout-evaluation"
CARD = "medeid-compensator.md"
SECTION = "## Evaluation on held-out patients"
NAMES = {"medeid": "method", "random-block": "random blocking"}


def _f(x: float | None, nd: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _x(x: float | None) -> str:
    """A ratio to the original's figure ('n/a' when the region had none to compare)."""
    v = _f(x)
    return v if v == "n/a" else f"{v}x"


def _row(rep: dict, method: str, p: float) -> dict:
    return next(r for r in rep["results"][method] if abs(r["p"] - p) < 1e-9)


def _auc(rep: dict, method: str, p: float, attacker: str) -> float | None:
    return _row(rep, method, p)["attack"].get(attacker, {}).get("auc")


def _keep(rep: dict, method: str, p: float) -> dict[str, float]:
    """Task score at ``p`` as a share of the originals' (tasks scored on both only)."""
    o, r = rep["originals"]["tasks"], _row(rep, method, p)["tasks"]
    return {t: r[t] / o[t] for t in TASK_NAMES if t in o and t in r and o[t] and not math.isnan(o[t])}


def headline(rep: dict) -> str:
    """The one-line evaluation of the registry / Settings (``manifest["evaluation"]``)."""
    d, top, mid = rep["data"], float(rep["config"]["levels"][-1]), 0.5
    parts = [f"held-out {d['test_patients']} patients ({d['test_images']} images): thumbnail attacker "
             f"AUC {_f(rep['originals']['attack']['thumb16']['auc'])} on originals, "
             f"p = {mid:g} / {top:g}: method {_f(_auc(rep, 'medeid', mid, 'thumb16'))} / "
             f"{_f(_auc(rep, 'medeid', top, 'thumb16'))}, random blocking "
             f"{_f(_auc(rep, 'random-block', mid, 'thumb16'))} / {_f(_auc(rep, 'random-block', top, 'thumb16'))}"]
    if "network" in rep["originals"]["attack"]:
        parts.append(f"network attacker {_f(rep['originals']['attack']['network']['auc'])} -> "
                     f"{_f(_auc(rep, 'medeid', mid, 'network'))} / {_f(_auc(rep, 'medeid', top, 'network'))}")
    fill = _row(rep, "medeid", top).get("fill") or {}
    if fill:
        parts.append(f"fill at p = {top:g}: texture {_x(fill['texture_ratio_median'])}, border step "
                     f"{_x(fill['step_ratio_median'])}, mean shift {_f(fill['mean_shift_median'], 3)}")
    keep = _keep(rep, "medeid", top)
    parts.append(f"tasks at p = {top:g}: " + ", ".join(f"{t} {100 * v:.0f} %" for t, v in keep.items())
                 + " of originals" if keep else "tasks: no labels")
    return "; ".join(parts) + f" ({STEM}.md)"


def _attack_table(rep: dict) -> list[str]:
    atts = list(rep["originals"]["attack"])
    lines = ["| release | p | " + " | ".join(atts) + " |", "|---|---|" + "---|" * len(atts)]
    o = rep["originals"]["attack"]
    lines.append("| originals | – | " + " | ".join(
        f"{_f(o[a]['auc'], 3)} [{_f(o[a]['lo'], 3)}, {_f(o[a]['hi'], 3)}]" for a in atts) + " |")
    for m, rows in rep["results"].items():
        for r in rows:
            lines.append(f"| {NAMES.get(m, m)} | {r['p']:.2f} | " + " | ".join(
                f"{_f(r['attack'][a]['auc'], 3)} [{_f(r['attack'][a]['lo'], 3)}, {_f(r['attack'][a]['hi'], 3)}]"
                for a in atts) + " |")
    return lines


def _fill_table(rep: dict) -> list[str]:
    lines = ["| p | images | texture ratio (median) | border step ratio (median) | mean shift "
             "(median / max) | share in bounds |", "|---|---|---|---|---|---|"]
    for r in rep["results"]["medeid"]:
        f = r.get("fill")
        if f:
            lines.append(f"| {r['p']:.2f} | {f['images']} | {_f(f['texture_ratio_median'])} | "
                         f"{_f(f['step_ratio_median'])} | {_f(f['mean_shift_median'], 3)} / "
                         f"{_f(f['mean_shift_max'], 3)} | {_f(f['share_ok'])} |")
    return lines


def _task_lines(rep: dict) -> list[str]:
    o = rep["originals"]["tasks"]
    lines = [f"- not scored: {t}: {why}" for t, why in rep["tasks"]["not_scored"].items()]
    if not o:
        return lines or ["- no labels"]
    scored = [t for t in TASK_NAMES if t in o]
    pos = rep["tasks"].get("positive")
    lines += ([f"- finding_auc: '{pos}' vs every other finding"] if pos and "finding_auc" in o else []) + [
        "", "| release | p | " + " | ".join(scored) + " |", "|---|---|" + "---|" * len(scored),
        "| originals | – | " + " | ".join(_f(o[t], 3) for t in scored) + " |"]
    for m, rows in rep["results"].items():
        lines += [f"| {NAMES.get(m, m)} | {r['p']:.2f} | " + " | ".join(_f(r["tasks"].get(t), 3) for t in scored)
                  + " |" for r in rows]
    return lines


def render_markdown(rep: dict, name: str) -> str:
    d, c = rep["data"], rep["config"]
    head = [f"# Evaluation on held-out patients: {name}", "",
            f"Every figure is in `{STEM}.json`; regenerated by `medeid ml train` at the end of training.",
            "", f"![AUC vs p]({STEM}.png)", "", "## Protocol", "",
            f"- Held out before training (seed {c['seed']}, {100 * c['fraction']:.0f} % of the patients "
            f"imaged on two or more days): **{d['test_images']} images of {d['test_patients']} patients** "
            f"that no model here trained on; {d['pairs']['positives']} same-patient pairs of different "
            f"days, {d['pairs']['negatives']} pairs of different patients. Training split: "
            f"{d['train_images']} images of {d['train_patients']} patients.",
            f"- Weights: sha256 of the .pt files {rep['model_sha256'][:16]}…",
            "- Threat model: linkage; the attacker holds the originals and sees the released images. "
            f"AUC with a 95 % patient-bootstrap CI ({c['n_boot']} resamples); 0.5 is chance. "
            "`thumb16`: Pearson correlation of 16×16 thumbnails, `geometry`: image size, both "
            f"training-free; `network`: {rep['network']}.",
            "- Released: the method (identity-ranked blocking + compensation) and random blocking "
            "(a share p of a 16×16 grid's cells filled grey) at each p.",
            f"- Time: {rep['seconds']['total']:.0f} s in all ("
            + (", ".join(f"{k} {v} s" for k, v in rep["seconds"].items() if k != "total") or "no training")
            + ").",
            "", "## Attackers (AUC [95 % CI])", ""]
    return "\n".join(head + _attack_table(rep) + ["", "## Fill quality of the method", "",
                     "Ratios to the original's same pixels (bounds: texture ≤ 3, border step ≤ 1.5, "
                     "mean shift ≤ 0.05 of the window).", ""] + _fill_table(rep)
                     + ["", "## Task utility", ""] + _task_lines(rep)) + "\n"


def _plot(rep: dict, path: Path) -> None:
    """The figure with matplotlib where it is installed, else with Pillow (``lab.png_plot``: the
    installer bundle trains and evaluates without matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        _plot_pillow(rep, path)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    atts = list(rep["originals"]["attack"])
    tasks = [t for t in TASK_NAMES if t in rep["originals"]["tasks"]]
    n = len(atts) + bool(tasks)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    if tasks:
        ax = axes[0][-1]
        for m, rows in rep["results"].items():
            for t in tasks:
                share = [_keep(rep, m, r["p"]).get(t, float("nan")) * 100 for r in rows]
                ax.plot([r["p"] for r in rows], share, "o-" if m == "medeid" else "x:", label=f"{NAMES.get(m, m)}: {t}")
        ax.axhline(100, color="k", ls="--", lw=0.8)
        ax.set(title="tasks (% of originals)", xlabel="privacy level p", ylabel="%")
        ax.legend(fontsize=6)
    for ax, att in zip(axes[0], atts):
        for m, rows in rep["results"].items():
            ax.plot([r["p"] for r in rows], [r["attack"][att]["auc"] for r in rows], "o-",
                    label=NAMES.get(m, m), lw=2.5 if m == "medeid" else 1)
        ax.axhline(rep["originals"]["attack"][att]["auc"], color="k", ls="--", lw=0.8, label="originals")
        ax.axhline(0.5, color="grey", ls=":")
        ax.set(title=f"attacker: {att}", xlabel="privacy level p", ylabel="AUC", ylim=(0.0, 1.0))
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _plot_pillow(rep: dict, path: Path) -> None:
    """The same panels as ``_plot`` (attackers, then the tasks), drawn with Pillow."""
    from medeid_gui.lab.png_plot import Panel, Series, save_panels

    panels = []
    for att in rep["originals"]["attack"]:
        panel = Panel(f"attacker: {att} (AUC)", "privacy level p", ylim=(0.0, 1.0),
                      hlines=[(rep["originals"]["attack"][att]["auc"], "originals"), (0.5, "")])
        for m, rows in rep["results"].items():
            panel.series.append(Series([r["p"] for r in rows], [r["attack"][att]["auc"] for r in rows],
                                       NAMES.get(m, m), width=3 if m == "medeid" else 1))
        panels.append(panel)
    tasks = [t for t in TASK_NAMES if t in rep["originals"]["tasks"]]
    if tasks:
        panel = Panel("tasks (% of originals)", "privacy level p", hlines=[(100.0, "")])
        for m, rows in rep["results"].items():
            for t in tasks:
                panel.series.append(Series([r["p"] for r in rows],
                                           [_keep(rep, m, r["p"]).get(t, float("nan")) * 100 for r in rows],
                                           f"{NAMES.get(m, m)}: {t}", dashed=m != "medeid"))
        panels.append(panel)
    save_panels(panels, path)


def _set_card_section(folder: Path, body: str) -> None:
    card = folder / CARD
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    text = text.split("\n" + SECTION)[0].rstrip("\n")
    card.write_text(f"{text}\n\n{SECTION}\n\n{body}\n", encoding="utf-8")


def _set_evaluation(folder: Path, line: str) -> None:
    from medeid_gui.ml.weights import read_manifest, write_manifest

    manifest = read_manifest(folder)
    manifest["evaluation"] = line
    write_manifest(folder, manifest)


def write_no_evaluation(folder: str | Path, why: str) -> None:
    """No figures: the reason goes where they would (card section, manifest line); the report
    files of an earlier run of the same folder are removed with their manifest entries."""
    from medeid_gui.ml.weights import read_manifest, write_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    files: dict = manifest["files"]  # type: ignore[assignment]
    for ext in ("json", "md", "png"):
        files.pop(f"{STEM}.{ext}", None)
        (folder / f"{STEM}.{ext}").unlink(missing_ok=True)
    write_manifest(folder, manifest)
    _set_card_section(folder, why + ".")
    _set_evaluation(folder, why)


def write_heldout_report(rep: dict, folder: str | Path) -> list[Path]:
    """``heldout-evaluation.json/.md/.png`` into the model folder (recorded in its manifest), the
    card's section and the manifest's one-line evaluation; returns the three paths."""
    from medeid_gui.lab.train_config import finite
    from medeid_gui.ml.weights import read_manifest, record

    folder = Path(folder)
    name = str(read_manifest(folder).get("name") or folder.name)
    paths = [folder / f"{STEM}.json", folder / f"{STEM}.md", folder / f"{STEM}.png"]
    paths[0].write_text(json.dumps(finite(rep), indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(render_markdown(rep, name), encoding="utf-8")
    _plot(rep, paths[2])
    line = headline(rep)
    table = ["| p | method: thumb16 AUC | random blocking: thumb16 AUC |", "|---|---|---|"] + [
        f"| {r['p']:.2f} | {_f(r['attack']['thumb16']['auc'])} | "
        f"{_f(_auc(rep, 'random-block', r['p'], 'thumb16'))} |" for r in rep["results"]["medeid"]]
    _set_card_section(folder, line + "\n\n" + "\n".join(table)
                      + f"\n\nEvery attacker, the fill quality and the tasks: `{STEM}.md`.")
    for p in paths:
        record(folder, p.name, model="evaluation")
    _set_evaluation(folder, line)
    return paths
