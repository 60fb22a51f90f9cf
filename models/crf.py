"""IOB2 tag transitions and the constrained Viterbi pass that every NER decode goes through.

Arg-max tags can yield I-X after O or after another label; forbidding those moves gives well-formed
IOB2 sequences. A model trained with a CRF (`zhie train ner --crf`) also carries learned start, end
and tag→tag scores in its config (key `zhie_crf`), so the folder still loads with
AutoModelForTokenClassification alone; decoding adds them to the same pass. Inference and training's
dev report both decode here, so dev scores mean what users get. Where the text is known (inference), a
line break also ends any entity: no annotated entity crosses one (1 of ~25,000 in our data).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zhie.annotation.labels import BIO_TAGS

CONFIG_KEY = "zhie_crf"
# Score of a forbidden move while training: finite, because torchcrf multiplies the transitions of
# padded steps by 0 (inf * 0 = nan), and low enough that exp() of it is exactly 0 in float32.
FORBIDDEN = -10000.0


def _allowed_transitions(tags: tuple[str, ...]) -> np.ndarray:
    n = len(tags)
    ok = np.ones((n, n), dtype=bool)
    for j, t in enumerate(tags):
        if t.startswith("I-"):
            lab = t[2:]
            for i, p in enumerate(tags):
                ok[i, j] = p in (f"B-{lab}", f"I-{lab}")
    return ok


ALLOWED = _allowed_transitions(BIO_TAGS)  # [previous tag, next tag]
START_OK = np.array([not t.startswith("I-") for t in BIO_TAGS])


@dataclass(frozen=True)
class Transitions:
    """Learned CRF scores: `start[j]` of a first tag j, `end[i]` of a last tag i, `matrix[i, j]` of i → j."""

    start: np.ndarray
    end: np.ndarray
    matrix: np.ndarray

    @classmethod
    def initial(cls) -> Transitions:
        """Where CRF training starts: 0 for every IOB2 move, FORBIDDEN for the others."""
        return cls(np.where(START_OK, 0.0, FORBIDDEN), np.zeros(len(BIO_TAGS)), np.where(ALLOWED, 0.0, FORBIDDEN))

    @classmethod
    def from_config(cls, value: dict[str, Any]) -> Transitions:
        """Read the `zhie_crf` entry of a model config; a shape that is not our tag set's is an error."""
        n = len(BIO_TAGS)
        out = cls(*(np.asarray(value[k], dtype=np.float64) for k in ("start", "end", "matrix")))
        if out.start.shape != (n,) or out.end.shape != (n,) or out.matrix.shape != (n, n):
            raise ValueError(f"{CONFIG_KEY}: transitions must be over the {n} tags {list(BIO_TAGS)}")
        return out

    def to_config(self) -> dict[str, list]:
        """The JSON-able `zhie_crf` entry (lists of floats) that save_pretrained writes into config.json."""
        return {"start": self.start.tolist(), "end": self.end.tolist(), "matrix": self.matrix.tolist()}


def viterbi(probs: np.ndarray, transitions: Transitions | None = None,
            breaks: np.ndarray | None = None) -> list[int]:
    """Best well-formed tag path for a (tokens x tags) probability matrix, plus `transitions` if given.

    Log-softmax differs from the logits by one constant per token, so with transitions this is the
    CRF's own Viterbi path over the emissions (up to the 1e-9 probability floor). `breaks[i]`: a line
    break stands before token i, which therefore cannot continue an entity (no I- tag), as at the start.
    """
    return viterbi_batch([probs], transitions, [breaks])[0]


def viterbi_batch(probs: Sequence[np.ndarray], transitions: Transitions | None = None,
                  breaks: Sequence[np.ndarray | None] | None = None) -> list[list[int]]:
    """`viterbi` of several sequences at once, each the path it gets alone: one numpy step per position for
    all the sequences that reach it, since the per-position loop, not the arithmetic, is what costs at
    inference. Sequences go longest first, so those still running at a position are always the first rows."""
    order = sorted(range(len(probs)), key=lambda b: -len(probs[b]))
    lengths = np.array([len(probs[b]) for b in order], dtype=np.int64)
    n_seq, n_tags, width = len(probs), len(BIO_TAGS), int(lengths.max(initial=0))
    if width == 0:
        return [[] for _ in probs]
    t = transitions or Transitions(np.zeros(n_tags), np.zeros(n_tags), np.zeros(ALLOWED.shape))
    logp = np.zeros((n_seq, width, n_tags))
    broken = np.zeros((n_seq, width), dtype=bool)
    for row, b in enumerate(order):
        logp[row, :lengths[row]] = np.log(np.clip(probs[b], 1e-9, 1.0))
        if breaks is not None and breaks[b] is not None:
            broken[row, :lengths[row]] = breaks[b]
    trans = np.where(ALLOWED, t.matrix, -np.inf)
    after_break = np.where(START_OK, trans, -np.inf)
    score = np.where(START_OK, t.start + logp[:, 0], -np.inf)
    final = score.copy()  # each row's scores at its last position
    back = np.zeros((n_seq, width, n_tags), dtype=np.int64)
    running = int((lengths > 0).sum())
    for i in range(1, width):
        done = int((lengths > i).sum())
        final[done:running] = score[done:running]
        running = done
        step = np.where(broken[:running, i, None, None], after_break, trans) if broken[:running, i].any() else trans
        cand = score[:running, :, None] + step
        back[:running, i] = cand.argmax(axis=1)
        score = cand.max(axis=1) + logp[:running, i]
    final[:running] = score
    cur = (final + t.end).argmax(axis=1)
    paths = np.zeros((n_seq, width), dtype=np.int64)
    rows = np.arange(n_seq)
    for i in range(width - 1, -1, -1):
        present = i < lengths
        paths[present, i] = cur[present]
        cur = np.where(present, back[rows, i, cur], cur)
    out: list[list[int]] = [[] for _ in probs]
    for row, b in enumerate(order):
        out[b] = paths[row, :lengths[row]].tolist()
    return out
