"""Turn per-token tag probabilities into entity spans with a constrained Viterbi pass.

The pass itself (IOB2 constraint, optional learned CRF transitions) is zhie.models.crf's, shared
with training's dev report.
"""
from __future__ import annotations

import numpy as np

from zhie.annotation.labels import BIO_TAGS, OUTSIDE
from zhie.models.crf import Transitions, viterbi


def token_spans(probs: np.ndarray, transitions: Transitions | None = None) -> list[tuple[int, int, str, float]]:
    """(first token, last token exclusive, label, mean probability of the chosen tags).

    `transitions`: a CRF model's learned scores (zhie.models.ner.crf_transitions(config)), else None.
    """
    path = viterbi(probs, transitions)
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
