"""Few-shot adaptation of the head: the inner loop, written with ``torch.func``.

Each step is a damped Gauss-Newton (Levenberg-Marquardt) step on the support
residuals, ``head ← head − (JᵀJ + diag(exp(log_damping)))⁻¹ Jᵀ r``, with one
learned damping per head parameter, vmapped over devices. The damping plays
the part of Meta-SGD's learned per-parameter step sizes (a large damping is a
small step, and ``exp(-log_damping)`` is the step size for small gradients).
Plain Meta-SGD was tried first: the support gradients w.r.t. the log prices
are ~1e-3 (a price moves every score almost alike), so three steps moved the
head by ~1e-3 and adaptation changed nothing; the Gauss-Newton step rescales
by the curvature. The GNN body is not adapted, so its node states are computed
once; gradients flow through the inner loop into the meta-parameters.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import jacrev, vmap

from fewlat.meta.predictor._model import LatencyGNN

__all__ = ["adapt_heads", "predict_log", "shot_targets"]


def predict_log(
    model: LatencyGNN,
    h: torch.Tensor,
    head: torch.Tensor,
    base: torch.Tensor,
    counts: torch.Tensor,
    n_nodes: torch.Tensor,
    anchor: torch.Tensor | None,
) -> torch.Tensor:
    """One device's predicted target for graphs ``counts``.

    Args:
        h: ``[U, H]`` node states; head: ``[P]``; base: ``[U, 4]`` base quantities.
        counts: ``[G, U]`` colour counts; n_nodes: ``[G]``.
        anchor: ``([1, U] counts, [1] n_nodes)`` of the anchor, or None for the raw target.

    Returns:
        ``[G]`` log(latency / anchor latency), or log latency when ``anchor`` is None.
    """
    values = model.node_values(h, head, base)
    score = model.log_score(values, counts, n_nodes)
    if anchor is None:
        return score
    return score - model.log_score(values, anchor[0], anchor[1])


def shot_targets(
    shots_ms: np.ndarray, ratio: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inner-loop targets from D devices' shot timings ``[D, K]`` (NaN = not measured).

    Returns:
        ``(targets [D, K], mask [D, K], anchor_ms [D, 1])``: log(ms / anchor ms) with
        ``ratio``, else log ms (float32; masked shots read as 1 ms, and the mask
        removes them from the loss); 1 where measured; the anchors in ms.
    """
    ms = torch.from_numpy(np.asarray(shots_ms, dtype=np.float64))
    mask = torch.isfinite(ms).float()
    filled = torch.nan_to_num(ms, nan=1.0)
    anchor_ms = filled[:, :1]
    targets = torch.log(filled) - (torch.log(anchor_ms) if ratio else 0.0)
    return targets.float(), mask, anchor_ms


def adapt_heads(
    model: LatencyGNN,
    h: torch.Tensor,
    heads: torch.Tensor,
    log_damping: torch.Tensor,
    steps: int,
    base: torch.Tensor,
    counts: torch.Tensor,
    n_nodes: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    ratio: bool,
) -> torch.Tensor:
    """Run the inner loop for D devices at once.

    Args:
        h: ``[D, U, H]`` node states; heads: ``[D, H+1]`` initial heads.
        log_damping: ``[P]`` learned log damping per head parameter.
        counts: ``[K, U]`` the shots' colour counts (row 0 = anchor); n_nodes ``[K]``.
        targets: ``[D, K]`` the shots' targets; mask: ``[D, K]`` 1 where measured.
        ratio: whether targets are ratios to the anchor (row 0).

    Returns:
        ``[D, H+1]`` adapted heads.
    """
    anchor = (counts[:1], n_nodes[:1]) if ratio else None

    def residuals(head: torch.Tensor, h_d: torch.Tensor, y: torch.Tensor, m: torch.Tensor):
        return (predict_log(model, h_d, head, base, counts, n_nodes, anchor) - y) * m

    jacobian = vmap(jacrev(residuals))
    residual = vmap(residuals)
    damping = torch.diag(log_damping.exp())
    for _ in range(steps):
        j = jacobian(heads, h, targets, mask)  # [D, K, P]
        r = residual(heads, h, targets, mask)  # [D, K]
        jt = j.transpose(1, 2)
        delta = torch.linalg.solve(jt @ j + damping, (jt @ r.unsqueeze(-1)).squeeze(-1))
        heads = heads - delta
    return heads
