"""First-order Markov-chain attribution: the removal effect of each channel.

Paths are walks ``start -> c1 -> ... -> ck -> conversion`` (or ``-> null``
for a path that did not convert). The transition probabilities are the
observed transition frequencies; ``start`` and the channels are transient
states, ``conversion`` and ``null`` absorbing. The probability of reaching
``conversion`` from ``start`` is ``B[start, conversion]`` with
``B = (I - Q)^{-1} R`` (Q: transient-to-transient, R: transient-to-absorbing
probabilities; Kemeny and Snell, *Finite Markov Chains*, 1960, thm. 3.3.7).

The *removal effect* of channel ``k`` is ``1 - P_k / P``, ``P_k`` being that
probability when every transition into ``k`` leads to ``null`` instead
(Anderl, Becker, von Wangenheim and Schumann, "Mapping the customer journey:
lessons learned from graph-based online attribution modeling", *IJRM* 33(3),
2016). A self-loop (the same channel twice in a row) only delays absorption
and changes no probability.
"""

from __future__ import annotations

import numpy as np

from crmcore._types import FloatArray, IntArray
from crmcore.errors import ValidationError
from crmcore.marketing._paths import Paths, run_starts

__all__ = ["removal_effects", "transition_counts"]


def _walk_counts(path: IntArray, channel: IntArray, absorb: int, n_states: int) -> FloatArray:
    """Transition counts of walks given as (path id, channel) rows sorted by path and time."""
    counts = np.zeros(n_states * n_states)
    if path.size == 0:
        return counts
    state = channel + 1
    first = run_starts(path)
    last = np.append(first[1:], True)
    src = np.where(first, 0, np.roll(state, 1))
    counts += np.bincount(src * n_states + state, minlength=n_states * n_states)
    counts += np.bincount(state[last] * n_states + absorb, minlength=n_states * n_states)
    return counts


def transition_counts(paths: Paths) -> FloatArray:
    """Count transitions between the states ``start, channel 1..K, conversion, null``.

    Direct conversions (no touch) are not walks and are not counted.
    """
    k = len(paths.channels)
    n_states = k + 3
    counts = _walk_counts(paths.touch_conv, paths.touch_channel, k + 1, n_states)
    counts += _walk_counts(paths.null_path, paths.null_channel, k + 2, n_states)
    return counts.reshape(n_states, n_states)


def _conversion_probability(q: FloatArray, r: FloatArray) -> float:
    try:
        b = np.linalg.solve(np.eye(q.shape[0]) - q, r)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - rows sum to 1 with an exit
        raise ValidationError(f"the path chain has no way out of a channel: {exc}") from exc
    return float(b[0, 0])


def removal_effects(counts: FloatArray) -> tuple[FloatArray, float]:
    """Return each channel's removal effect and the conversion probability from ``start``."""
    n_states = counts.shape[0]
    k = n_states - 3
    rows = counts[: k + 1]
    totals = rows.sum(axis=1, keepdims=True)
    probs = np.divide(rows, totals, out=np.zeros_like(rows), where=totals > 0)
    # a channel never seen (all-zero row) is absorbed into null: it cannot convert
    dead = totals[:, 0] == 0
    probs[dead, k + 2] = 1.0
    q, r = probs[:, : k + 1], probs[:, k + 1 :]
    base = _conversion_probability(q, r)
    effects = np.zeros(k)
    if base <= 0:
        return effects, base
    for j in range(k):
        q_j, r_j = q.copy(), r.copy()
        q_j[j + 1] = 0.0
        r_j[j + 1] = (0.0, 1.0)
        effects[j] = 1.0 - _conversion_probability(q_j, r_j) / base
    return np.clip(effects, 0.0, 1.0), base
