"""The reply's first token, ruled: the refusal gate, and the token counts of a generation.

Every local backend installs :class:`FirstStep` as a logits hook, in this process or in the
model's own (rag.worker): it reads the marker's probability at the first step and applies the
:class:`Gate`. Kept apart from the backends so that the model process imports it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Usage:
    """Token counts of the last generation, and the gate's reading (see :class:`Gate`)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    marker_probability: float | None = None
    # Where the state after the prompt's fixed prefix (system prompt and worked examples) came
    # from: "memory" (the model still held it), "disk" (a saved state, rag.prefix), "built"
    # (read now, and saved), or "" (none: a backend or prompt without one).
    prefix: str = ""


@dataclass(frozen=True)
class Gate:
    """A rule for the reply's first token: ``marker`` may open the reply only when the model
    gives it at least ``threshold`` probability there, and then it is taken even if it is not
    the likeliest token; below, it is banned, so the model must write something else.

    The pipeline gates its refusal marker this way: a small model's greedy choice between
    "refuse" and "answer" is badly calibrated, and one threshold on the marker's probability,
    set by measurement on the evaluation set, trades false refusals against invented answers.
    Only the first token of ``marker`` is gated.

    >>> Gate("NONE", 0.5).admits(0.7), Gate("NONE", 0.5).admits(0.2)
    (True, False)
    """

    marker: str
    threshold: float

    def admits(self, probability: float) -> bool:
        return probability >= self.threshold


class FirstStep:
    """The logits hook both backends install to apply ``gate`` at the first step only; the
    marker's probability goes to ``usage``.

    >>> import numpy as np
    >>> usage = Usage()
    >>> hook = FirstStep(usage, token=1, gate=Gate("x", 0.5))
    >>> scores = hook(np.zeros(3, dtype=np.float32))
    >>> round(usage.marker_probability, 3), hook(scores) is scores  # later steps: untouched
    (0.333, True)
    """

    def __init__(self, usage: Usage, *, token: int, gate: Gate) -> None:
        self.usage, self.token, self.gate = usage, token, gate

    def __call__(self, scores: Any) -> Any:
        if self.usage.marker_probability is not None:
            return scores
        scores, self.usage.marker_probability = gated(scores, self.token, self.gate)
        return scores


def gated(scores: Any, token: int, gate: Gate) -> tuple[Any, float]:
    """First-step logits with ``gate`` applied, and the marker token's probability.

    >>> import numpy as np
    >>> out, p = gated(np.array([0.0, 0.0, 0.0], dtype=np.float32), 1, Gate("x", 0.5))
    >>> round(p, 3), out.tolist()
    (0.333, [0.0, -inf, 0.0])
    """
    import numpy as np

    x = np.asarray(scores, dtype=np.float64)
    top = x.max()
    p = float(np.exp(x[token] - top) / np.exp(x - top).sum())
    out = np.array(scores, copy=True)
    if gate.admits(p):
        out[:] = -np.inf
        out[token] = 0.0
    else:
        out[token] = -np.inf
    return out, p
