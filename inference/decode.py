"""Turn per-token tag probabilities into entity spans with a constrained Viterbi pass.

Arg-max tags can yield I-X after O or after another label; forbidding those transitions gives
well-formed IOB2 sequences without training a CRF.
"""
from __future__ import annotations

import numpy as np

from zhie.annotation.labels import BIO_TAGS, OUTSIDE


def _allowed_transitions(tags: tuple[str, ...]) -> np.ndarray:
    n = len(tags)
    ok = np.ones((n, n), dtype=bool)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            lab = t[2:]
            for i, p in enumerate(tags):
                ok[i, j] = p in (f"B-{lab}", f"I-{lab}")
    return ok


_ALLOWED = _allowed_transitions(BIO_TAGS)
_START_OK = np.array([not t.startswith("I-") for t in BIO_TAGS])


def viterbi(probs: np.ndarray) -> list[int]:
    """Best well-formed tag path for a (tokens x tags) probability matrix."""
    if len(probs) == 0:
        return []
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    trans = np.where(_ALLOWED, 0.0, -np.inf)
    score = np.where(_START_OK, logp[0], -np.inf)
    back = np.zeros((len(probs), len(BIO_TAGS)), dtype=np.int64)
    for t in range(1, len(probs)):
        cand = score[:, None] + trans
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + logp[t]
    path = [int(score.argmax())]
    for t in range(len(probs) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


def token_spans(probs: np.ndarray) -> list[tuple[int, int, str, float]]:
    """(first token, last token exclusive, label, mean probability of the chosen tags)."""
    path = viterbi(probs)
    spans: list[tuple[int, int, str, float]] = []
    cur: list | None = None
    for i, k in enumerate(path):
        tag = BIO_TAGS[k]
        p = float(probs[i, k])
        if tag == OUTSIDE:
            cur = None
        elif tag.startswith("I-") and cur is not None:
            cur[1] = i + 1
            cur[3].append(p)
        else:
            cur = [i, i + 1, tag[2:], [p]]
            spans.append(cur)  # type: ignore[arg-type]
    return [(s, e, lab, float(np.mean(ps))) for s, e, lab, ps in spans]
