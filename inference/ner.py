"""The NER stage: tokenise with offsets, cut into windows, run a backend, decode spans per text.

Offsets come from the tokenizer's offset mapping, so entities index the original input whatever
its full-width forms, spaces or emoji; windows overlap and each token is kept from the window where
it has the most context (zhie.models.windows, shared with training).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from zhie.annotation.records import Document, Entity
from zhie.inference.backends import TokenBackend
from zhie.inference.decode import token_spans
from zhie.models.windows import make_windows


class NerTagger:
    """Stage 1: texts → entities with scores."""

    name = "ner"

    def __init__(self, backend: TokenBackend, tokenizer, window: int = 254, stride: int = 192,
                 batch_size: int = 16) -> None:
        self.backend = backend
        self.tokenizer = tokenizer
        self.window, self.stride, self.batch_size = window, stride, batch_size

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        """The documents with `entities` replaced by the model's (relations cleared: they named old ids)."""
        enc = self.tokenizer([d.text for d in docs], add_special_tokens=False, return_offsets_mapping=True)
        probs = self.token_probs(enc["input_ids"])
        out = []
        for doc, p, offsets in zip(docs, probs, enc["offset_mapping"], strict=True):
            spans: list[list] = []
            for s, e, label, score in token_spans(p):
                cs, ce = offsets[s][0], offsets[e - 1][1]
                if ce <= cs:
                    continue
                # NFKC can expand one character into several tokens (㎡ → m 2) that share its offsets:
                # a span starting inside the previous one joins it (same label) or yields to it.
                if spans and cs < spans[-1][1]:
                    if spans[-1][2] == label:
                        spans[-1][1] = max(spans[-1][1], ce)
                    continue
                spans.append([cs, ce, label, score])
            ents = [Entity(id=f"e{i}", label=label, start=cs, end=ce, text=doc.text[cs:ce], score=round(score, 4))
                    for i, (cs, ce, label, score) in enumerate(spans, 1)]
            out.append(doc.model_copy(update={"entities": ents, "relations": [], "projects": None}))
        return out

    def token_probs(self, ids_per_text: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """Per-token tag probabilities for each text; windows of all texts share batches."""
        tok = self.tokenizer
        result = [np.zeros((len(ids), self.backend.num_labels), dtype=np.float32) for ids in ids_per_text]
        jobs = [(i, w) for i, ids in enumerate(ids_per_text) if len(ids)
                for w in make_windows(len(ids), self.window, self.stride)]
        jobs.sort(key=lambda j: j[1].end - j[1].start)  # similar lengths share a batch: less padding
        for b in range(0, len(jobs), self.batch_size):
            batch = jobs[b:b + self.batch_size]
            seqs = [[tok.cls_token_id, *ids_per_text[i][w.start:w.end], tok.sep_token_id] for i, w in batch]
            width = max(len(s) for s in seqs)
            input_ids = np.full((len(seqs), width), tok.pad_token_id, dtype=np.int64)
            mask = np.zeros((len(seqs), width), dtype=np.int64)
            for r, s in enumerate(seqs):
                input_ids[r, :len(s)] = s
                mask[r, :len(s)] = 1
            p = self.backend.token_probs(input_ids, mask)
            for r, (i, w) in enumerate(batch):
                lo, hi = w.keep_from - w.start, w.keep_to - w.start
                result[i][w.keep_from:w.keep_to] = p[r, 1 + lo:1 + hi]
        return result
