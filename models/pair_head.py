"""The shared-encoder relation head: links PROJECT to MONEY/LOC from the NER encoder's own token states.

The marker model (zhie.models.relation) reads every candidate pair in a fresh encoder pass, which
costs more than the NER itself. This head reuses the states the NER pass already computed: each
candidate (PROJECT, MONEY|LOC) pair becomes the states at both mentions' first and last tokens,
their product and the mean of the tokens between them, plus a few discrete cues a reader uses (how
far apart, same sentence, which comes first, how many other projects/amounts lie between, whether
this is the nearest project, the guide's cue words: zhie.models.relation_cues) — and a small MLP scores
it as none | its one relation. The projects near one amount or place then compete for it in a softmax
(an amount belongs to one project or none). It is trained on frozen encoder states, so the NER's
accuracy is untouched and training takes minutes.

Stored beside the NER weights it was trained on (`relation_head.safetensors` + `relation_head.json`,
which records that encoder's hidden size and the head's thresholds).
"""
from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from zhie.annotation.records import Document
from zhie.models.relation import (CLASSES, HEAD_LABEL, Candidate, allowed_classes, best_mention_only, candidate_pairs,
                                  sentence_index, split_sentences)
from zhie.models.relation_cues import WORD_CUES, word_cues
from zhie.models.simplified import to_simplified

HEAD_FILE = "relation_head.safetensors"
HEAD_CONFIG = "relation_head.json"
# token distance between the two mentions, in buckets (a log-like scale: near pairs differ most)
DISTANCE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)
COUNT_CAP = 3  # "none, one, two, three or more" for the counts and ranks
# the discrete cues and their number of values
CUES: dict[str, int] = {"distance": len(DISTANCE_BUCKETS) + 1, "same_sentence": 2, "tail_first": 2,
                        "projects_between": COUNT_CAP + 1, "tails_between": COUNT_CAP + 1,
                        "project_rank": COUNT_CAP + 1, "tail_rank": COUNT_CAP + 1, "tail_label": 2,
                        **{name: 2 for name in WORD_CUES}}
TAIL_LABELS = ("MONEY", "LOC")
N_VECTORS = 6  # head first/last, tail first/last, head*tail, mean between


class PairHead(torch.nn.Module):
    """MLP over [pair state vectors ; cue embeddings] -> logits over CLASSES (none, project_amount, project_location)."""

    def __init__(self, hidden_size: int, inner: int = 256, cue_dim: int = 16, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = {"hidden_size": hidden_size, "inner": inner, "cue_dim": cue_dim, "dropout": dropout}
        self.cues = torch.nn.ModuleList(torch.nn.Embedding(n, cue_dim) for n in CUES.values())
        self.norm = torch.nn.LayerNorm(N_VECTORS * hidden_size)
        self.mlp = torch.nn.Sequential(
            torch.nn.Dropout(dropout), torch.nn.Linear(N_VECTORS * hidden_size + len(CUES) * cue_dim, inner),
            torch.nn.GELU(), torch.nn.Dropout(dropout), torch.nn.Linear(inner, len(CLASSES)))

    def forward(self, vectors: torch.Tensor, cues: torch.Tensor) -> torch.Tensor:
        """vectors (pairs, N_VECTORS*hidden), cues (pairs, len(CUES)) int -> (pairs, classes) logits."""
        emb = [table(cues[:, i]) for i, table in enumerate(self.cues)]
        return self.mlp(torch.cat([self.norm(vectors), *emb], dim=-1))


def token_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int]:
    """First and last token (inclusive) overlapping characters [start, end)."""
    return _TokenIndex(offsets).span(start, end)


class _TokenIndex:
    """A text's token offsets as arrays, so that each mention's tokens are one vectorised test (a Python
    scan of the offsets per mention cost as much as the relation head itself on long articles)."""

    def __init__(self, offsets: Sequence[tuple[int, int]]) -> None:
        arr = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
        self.starts, self.ends = arr[:, 0], arr[:, 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        inside = np.flatnonzero((self.ends > start) & (self.starts < end) & (self.ends > self.starts))
        if not len(inside):
            raise ValueError(f"span [{start},{end}) covers no token")
        return int(inside[0]), int(inside[-1])


def _bucket(distance: int) -> int:
    return bisect.bisect_right(DISTANCE_BUCKETS, distance)


def pair_inputs(hidden: torch.Tensor, offsets: Sequence[tuple[int, int]], doc: Document,
                cands: Sequence[Candidate]) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's inputs for the candidates of one document, from its token states `hidden` (tokens, H)."""
    if not cands:
        return torch.zeros((0, N_VECTORS * hidden.shape[-1])), torch.zeros((0, len(CUES)), dtype=torch.long)
    sents = split_sentences(doc.text)
    cue_text = to_simplified(doc.text)  # the cue words are Simplified; same offsets
    ents = doc.sorted_entities()
    projects = [e for e in ents if e.label == HEAD_LABEL]
    tokens = _TokenIndex(offsets)
    vectors, cues = [], []
    for c in cands:
        (h0, h1), (t0, t1) = tokens.span(c.head.start, c.head.end), tokens.span(c.tail.start, c.tail.end)
        lo, hi = (h1 + 1, t0) if h1 < t0 else (t1 + 1, h0)
        between = hidden[lo:hi].mean(0) if hi > lo else torch.zeros_like(hidden[0])
        vectors.append(torch.cat([hidden[h0], hidden[h1], hidden[t0], hidden[t1], hidden[h0] * hidden[t0], between]))
        a, b = sorted((c.head.start, c.tail.start))
        same_tails = [e for e in ents if e.label == c.tail.label]
        dist_to_tail = sorted(abs(p.start - c.tail.start) for p in projects)
        dist_to_head = sorted(abs(t.start - c.head.start) for t in same_tails)
        cues.append([_bucket(max(0, hi - lo)),
                     int(sentence_index(sents, c.head.start) == sentence_index(sents, c.tail.start)),
                     int(c.tail.start < c.head.start),
                     min(COUNT_CAP, sum(1 for p in projects if a < p.start < b and p.id != c.head.id)),
                     min(COUNT_CAP, sum(1 for t in same_tails if a < t.start < b and t.id != c.tail.id)),
                     min(COUNT_CAP, dist_to_tail.index(abs(c.head.start - c.tail.start))),
                     min(COUNT_CAP, dist_to_head.index(abs(c.tail.start - c.head.start))),
                     TAIL_LABELS.index(c.tail.label), *word_cues(cue_text, c.head, c.tail)])
    return torch.stack(vectors), torch.tensor(cues, dtype=torch.long)


def tail_groups(cands: Sequence[Candidate]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per candidate, its group (the candidates of one document sharing its tail compete: 97 % of the
    train split's amounts and places belong to one project or none) and its slot within the group."""
    groups: dict[tuple[int, str], int] = {}
    sizes: list[int] = []
    group, slot = [], []
    for c in cands:
        g = groups.setdefault((c.doc_index, c.tail.id), len(groups))
        if g == len(sizes):
            sizes.append(0)
        group.append(g)
        slot.append(sizes[g])
        sizes[g] += 1
    return torch.tensor(group, dtype=torch.long), torch.tensor(slot, dtype=torch.long)


def tail_logits(logits: torch.Tensor, group: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """(groups, 1 + most candidates) scores of each tail's choices: column 0 "no project" (score 0), then
    its candidates' relation-vs-none logit (-inf in unused slots). A softmax over a row says which
    project the tail belongs to, if any."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    width = int(slot.max()) + 2 if len(slot) else 1
    rows = torch.full((n_groups, width), float("-inf"), dtype=logits.dtype)
    rows[:, 0] = 0.0
    rows[group, slot + 1] = torch.logsumexp(logits[:, 1:], -1) - logits[:, 0]  # masked classes add nothing
    return rows


def tail_probs(logits: torch.Tensor, group: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """Per candidate, the probability that its tail belongs to its project (softmax over the tail's choices)."""
    return torch.softmax(tail_logits(logits, group, slot), -1)[group, slot + 1]


@torch.inference_mode()
def head_probs(head: PairHead, docs: Sequence[Document], hidden: Sequence[torch.Tensor],
               offsets: Sequence[Sequence[tuple[int, int]]]) -> tuple[list[Candidate], list[float]]:
    """Every candidate pair of `docs` and the probability of the one relation its types allow, from
    each document's token states: the projects near a tail compete for it (tail_probs); a tail keeps at
    most one mention per project name (best_mention_only)."""
    cands: list[Candidate] = []
    vectors, cues = [], []
    for i, doc in enumerate(docs):
        found = candidate_pairs(doc, i)
        if found:
            v, c = pair_inputs(hidden[i], offsets[i], doc, found)
            cands += found
            vectors.append(v)
            cues.append(c)
    if not cands:
        return [], []
    logits = head(torch.cat(vectors), torch.cat(cues)).masked_fill(~allowed_classes([c.tail.label for c in cands]),
                                                                    float("-inf"))
    return cands, best_mention_only(cands, tail_probs(logits, *tail_groups(cands)).tolist())


def save_pair_head(head: PairHead, folder: str | Path, thresholds: dict[str, float], extra: dict | None = None) -> None:
    """Write the head's weights (fp16, it is small) and its config beside the encoder's weights."""
    folder = Path(folder)
    save_file({k: v.half().contiguous() for k, v in head.state_dict().items()}, str(folder / HEAD_FILE))
    cfg = {**head.config, "classes": list(CLASSES), "cues": CUES, "thresholds": thresholds, **(extra or {})}
    (folder / HEAD_CONFIG).write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")


def has_pair_head(folder: str | Path) -> bool:
    return (Path(folder) / HEAD_FILE).is_file() and (Path(folder) / HEAD_CONFIG).is_file()


def load_pair_head(folder: str | Path) -> tuple[PairHead, dict]:
    """The head saved in `folder` (eval mode, fp32) and its config; checks it fits this code's classes and cues."""
    folder = Path(folder)
    cfg = json.loads((folder / HEAD_CONFIG).read_text(encoding="utf-8"))
    if cfg.get("classes") != list(CLASSES) or cfg.get("cues") != CUES:
        raise ValueError(f"{folder / HEAD_CONFIG}: written for other classes or cues than this version of zhie")
    head = PairHead(cfg["hidden_size"], cfg["inner"], cfg["cue_dim"], cfg["dropout"])
    head.load_state_dict({k: v.float() for k, v in load_file(str(folder / HEAD_FILE)).items()})
    return head.eval(), cfg
