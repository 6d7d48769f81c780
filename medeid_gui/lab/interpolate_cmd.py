"""``medeid ml interpolate A B --alpha W --out DIR``: the compensators of two fine-tunes, mixed.

Why: two fine-tunes of the same compensators (``medeid ml train --init-from``) with different
loss weights sit on either side of the privacy / utility line -- on the cohort, the seam loss
alone kept attacker AUC 0.543 at p = 1 but the lesion Dice at 93.9 % of originals, a stronger
segmenter loss on top reached 95.5 % at AUC 0.594. Their weights started from the same point,
so the straight line between them is a family of models between the two trade-offs (weight
interpolation, Wortsman et al. 2022, "model soups"); a point on it is chosen by the evaluation,
and this command makes that point reproducible from the two runs' folders. (Measured so far:
the 0.75 mix of those two, AUC 0.568 and Dice 94.6 %; the shipped weights are not a mix.)

Only the compensator file changes; every other weight of ``A`` is copied unchanged, and the
networks the two runs share (the decoupler) must be bit-identical, or the mix is refused.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

HELP = "mix the compensators of two fine-tunes of the same weights: alpha * A + (1 - alpha) * B"

COMP_FILE = "medeid-compensator.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="model folder A (its other weights and cards are kept)")
    parser.add_argument("b", help="model folder B (a fine-tune from the same start as A)")
    parser.add_argument("--alpha", type=float, required=True, help="weight of A, in [0, 1]")
    parser.add_argument("--out", required=True, help="new model folder (must not exist)")


def mix_states(a: dict, b: dict, alpha: float) -> dict:
    """``alpha * a + (1 - alpha) * b`` per floating tensor of the compensator tables; tables
    that must be shared are checked bit-identical; the config records the mix."""
    import torch

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    if set(a) != set(b):
        raise ValueError(f"the two files hold different tables: {sorted(a)} vs {sorted(b)}")
    out: dict = {}
    for key, va in a.items():
        vb = b[key]
        if key == "config":
            out[key] = {**va, "interpolated": {"alpha": alpha, "a": va.get("train_config"),
                                               "b": vb.get("train_config")}}
            continue
        if set(va) != set(vb) or any(va[n].shape != vb[n].shape for n in va):
            raise ValueError(f"{key}: the two networks differ in shape; not fine-tunes of one start")
        if not key.startswith("compensator"):
            if not all(torch.equal(va[n], vb[n]) for n in va):
                raise ValueError(f"{key} differs between A and B; only the compensators may")
            out[key] = va
            continue
        out[key] = {n: alpha * t + (1 - alpha) * vb[n] if t.is_floating_point() else t
                    for n, t in va.items()}
    return out


def run(args: argparse.Namespace) -> int:
    from medeid_gui.ml.weights import load_state, save_state

    a_dir, b_dir, out = Path(args.a), Path(args.b), Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; give a new folder")
    try:
        state = mix_states(load_state(a_dir, COMP_FILE), load_state(b_dir, COMP_FILE), args.alpha)
    except ValueError as exc:
        raise SystemExit(f"cannot mix: {exc}") from None
    shutil.copytree(a_dir, out)
    digest = save_state(out, COMP_FILE, state, model="medeid-compensator",
                        card="medeid-compensator.md")
    print(f"wrote {out / COMP_FILE} (alpha {args.alpha} of {a_dir}, sha256 {digest})")
    return 0
