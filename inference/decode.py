"""Turn per-token tag probabilities into entity spans with a constrained Viterbi pass.

The pass itself (IOB2 constraint, optional learned CRF transitions) is zhie.models.crf's, shared
with training's dev report; here, where the text is known, line breaks end entities too.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zhie.annotation.labels import BIO_TAGS, OUTSIDE
from zhie.models.crf import Transitions, viterbi


def line_breaks(text: str, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per token, whether a line break stands between it and the token before (tokens carry no whitespace)."""
    return np.array([i > 0 and "\n" in text[offsets[i - 1][1]:s] for i, (s, _) in enumerate(offsets)], dtype=bool)


def token_spans(probs: np.ndarray, transitions: Transitions | None = None,
                breaks: np.ndarray | None = None) -> list[tuple[int, int, str, float]]:
    """(first token, last token exclusive, label, mean probability of the chosen tags).

    `transitions`: a CRF model's learned scores (zhie.models.ner.crf_transitions(config)), else None.
    `breaks`: line_breaks of the text; no entity continues across one.
    """
    path = viterbi(probs, transitions, breaks)
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
