"""A training loss against seams: the step across a blocked patch's border, in excess of the
original's step across the same border.

Why (issue #14): the compensators are trained towards the median chest (plus the study's own
lesions), so nothing in their losses asks the fill to continue the unblocked pixels beside it;
``lab.fill_quality.border_step`` measured seams 4.6-5.7x the original's on the cohort and
15-20x on RG1. Repairing them after the fact from the surroundings re-identified and cost the
lesion burden (``ml.fill_repair``'s docstring). A loss lets the network decide how to meet the
border with what its identity and task losses allow. Same definition as ``border_step`` (mean of
``depth`` pixels on each side of every adjacent pair that crosses the mask's border), in torch,
differentiable in the composed image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _side_steps(img: torch.Tensor, depth: int) -> torch.Tensor:
    """(B, 1, H, W - 1): |mean of ``depth`` px ending at p - mean of ``depth`` px from p + 1|
    along the last axis (edge-replicated), for every p."""
    import torch.nn.functional as F

    w = img.shape[-1]
    padded = F.pad(img, (depth, depth, 0, 0), mode="replicate")
    runs = F.avg_pool2d(padded, (1, depth), stride=1)  # runs[q] = mean(img[q - depth .. q - 1])
    before, after = runs[..., 1:w], runs[..., depth + 1: w + depth]
    return (before - after).abs()


def border_step_excess(y: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, *,
                       depth: int = 2) -> torch.Tensor:
    """Mean over border-crossing pairs (both axes) of relu(step in ``y`` - step in ``x``).

    ``y``: composed image (fill in the blocked patches), ``x``: the original, ``mask``: 1 where
    blocked; all (B, 1, H, W). Zero when no pair crosses a border (nothing or all blocked).
    """
    import torch

    total = y.new_zeros(())
    count = y.new_zeros(())
    for t in (-1, -2):
        yy, xx, mm = (a.transpose(-1, t) for a in (y, x, mask))
        edge = (mm[..., :-1] != mm[..., 1:]).to(y.dtype)
        excess = torch.relu(_side_steps(yy, depth) - _side_steps(xx, depth).detach())
        total = total + (excess * edge).sum()
        count = count + edge.sum()
    return total / count.clamp_min(1.0)
