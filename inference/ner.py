"""The NER stage: tokenise with offsets, cut into windows, run a backend, decode spans per text.

Offsets come from the tokenizer's offset mapping, so entities index the original input whatever
its full-width forms, spaces or emoji; windows overlap and each token is kept from the window where
it has the most context (zhie.models.windows, shared with training).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zhie.annotation.records import Document, Entity
from zhie.inference.backends import TokenBackend
from zhie.inference.decode import line_breaks, token_spans_batch
from zhie.models.crf import Transitions
from zhie.models.lexicon import Lexicon
from zhie.models.tokenizer import encode_texts
from zhie.models.windows import run_windows


@dataclass
class TokenStates:
    """What one encoder pass over a text gives: token offsets, tag probabilities, last hidden states."""

    offsets: list[tuple[int, int]]
    probs: np.ndarray
    hidden: np.ndarray | None = None


class NerTagger:
    """Stage 1: texts → entities with scores.

    With `keep_hidden`, the encoder's states of the last batch are kept (`states`), so a relation
    head that reads them (zhie.inference.relations.SharedRelationTagger) needs no second pass.
    """

    name = "ner"

    def __init__(self, backend: TokenBackend, tokenizer, window: int = 254, stride: int = 192,
                 batch_size: int = 16, keep_hidden: bool = False, transitions: Transitions | None = None,
                 lexicon: Lexicon | None = None) -> None:
        self.backend = backend
        self.transitions = transitions  # a CRF-trained model's learned tag transitions (config `zhie_crf`)
        self.lexicon = lexicon  # a lexicon model's word/gazetteer features (config `zhie_lexicon`)
        self.tokenizer = tokenizer
        self.window, self.stride, self.batch_size = window, stride, batch_size
        self.keep_hidden = keep_hidden
        self._last: tuple[tuple[str, ...], list[TokenStates]] | None = None

    def states(self, texts: Sequence[str]) -> list[TokenStates]:
        """Token states of `texts` with hidden states: those kept from the last batch when it was these
        texts (handed over once, then dropped: they are large), else a fresh encoder pass."""
        last, self._last = self._last, None
        if last is not None and last[0] == tuple(texts):
            return last[1]
        states = self.encode(texts, hidden=True)
        self._last = None
        return states

    def encode(self, texts: Sequence[str], hidden: bool = False) -> list[TokenStates]:
        """One encoder pass over `texts` (windows of all texts share batches)."""
        enc = encode_texts(self.tokenizer, texts)
        types = self.lexicon.token_types(texts, enc["offset_mapping"]) if self.lexicon is not None else None
        outputs = self.token_outputs(enc["input_ids"], hidden, types)
        states = [TokenStates(offsets, p, h) for offsets, (p, h) in zip(enc["offset_mapping"], outputs, strict=True)]
        self._last = (tuple(texts), states) if hidden else None
        return states

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        """The documents with `entities` replaced by the model's (relations cleared: they named old ids)."""
        return self.decode(docs, self.encode([d.text for d in docs], hidden=self.keep_hidden))

    def decode(self, docs: Sequence[Document], states: Sequence[TokenStates]) -> list[Document]:
        """`docs` with the entities that the constrained Viterbi pass reads from their encoder `states`."""
        decoded = token_spans_batch([st.probs for st in states], self.transitions,
                                    [line_breaks(doc.text, st.offsets) for doc, st in zip(docs, states, strict=True)])
        out = []
        for doc, st, token_level in zip(docs, states, decoded, strict=True):
            offsets = st.offsets
            spans: list[list] = []
            for s, e, label, score in token_level:
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

    def token_outputs(self, ids_per_text: Sequence[Sequence[int]], hidden: bool = False,
                      types_per_text: Sequence[Sequence[int]] | None = None) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per-token tag probabilities (and last hidden states) for each text; windows of all texts share batches,
        except on a backend that scales activations per call (one text's windows per call)."""
        tok = self.tokenizer
        width = self.backend.hidden_size if hidden else 0
        # where the backend scales activations per call (dynamic int8), a call holds the windows of one text
        # only, so a text reads the same whatever else is in the batch, as in fp32 (and its windows, all of one
        # length, need no padding: on two cores as fast as sharing calls across texts)
        outs = run_windows(ids_per_text, lambda ids, mask, types: self.backend.token_outputs(ids, mask, hidden, types),
                           (self.backend.num_labels, width), self.window, self.stride, self.batch_size,
                           tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, types_per_text,
                           share_calls=not getattr(self.backend, "scales_per_call", False))  # older backends lack it
        return [(p, h if hidden else None) for p, h in outs]
