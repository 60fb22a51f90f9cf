"""Turn per-token tag probabilities into entity spans with a constrained Viterbi pass.

The pass itself (IOB2 constraint, optional learned CRF transitions) is zhie.models.crf's, shared
with training's dev report; here, where the text is known, line breaks end entities too.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zhie.annotation.labels import BIO_TAGS, OUTSIDE
from zhie.models.crf import Transitions, viterbi, viterbi_batch


def line_breaks(text: str, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per token, whether a line break stands between it and the token before (tokens carry no whitespace)."""
    return np.array([i > 0 and "\n" in text[offsets[i - 1][1]:s] for i, (s, _) in enumerate(offsets)], dtype=bool)


def token_spans(probs: np.ndarray, transitions: Transitions | None = None,
                breaks: np.ndarray | None = None) -> list[tuple[int, int, str, float]]:
    """(first token, last token exclusive, label, mean probability of the chosen tags).

    `transitions`: a CRF model's learned scores (zhie.models.ner.crf_transitions(config)), else None.
    `breaks`: line_breaks of the text; no entity continues across one.
    """
    return spans_of_path(probs, viterbi(probs, transitions, breaks))


def token_spans_batch(probs: Sequence[np.ndarray], transitions: Transitions | None = None,
                      breaks: Sequence[np.ndarray | None] | None = None) -> list[list[tuple[int, int, str, float]]]:
    """`token_spans` of several texts, their Viterbi passes run together (zhie.models.crf.viterbi_batch)."""
    return [spans_of_path(p, path) for p, path in zip(probs, viterbi_batch(probs, transitions, breaks), strict=True)]


def spans_of_path(probs: np.ndarray, path: Sequence[int]) -> list[tuple[int, int, str, float]]:
    """The entities of a tag path, each with the mean probability of its tags."""
    spans: list[list] = []
    cur: list | None = None
    chosen = probs[np.arange(len(path)), path].tolist() if len(path) else []
    for i, k in enumerate(path):
        tag = BIO_TAGS[k]
        if tag == OUTSIDE:
            cur = None
        elif tag.startswith("I-") and cur is not None:
            cur[1] = i + 1
            cur[3].append(chosen[i])
        else:
            cur = [i, i + 1, tag[2:], [chosen[i]]]
            spans.append(cur)
    return [(s, e, lab, float(np.mean(ps))) for s, e, lab, ps in spans]
