"""The relation stage: documents with entities in, the same documents with scored relations out.

Two kinds: `SharedRelationTagger` (the default: a small head over the NER encoder's states, no second
encoder pass) and `RelationTagger` (a separate marker model that re-reads every candidate pair).
Candidate pairs, inputs and thresholds are zhie.models' (shared with training), so what is evaluated
is exactly what runs here.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from zhie.annotation.records import Document
from zhie.inference.backends import int8_linears
from zhie.inference.ner import NerTagger
from zhie.models.pair_head import head_probs, load_pair_head
from zhie.models.relation import load_relation_model, predict_relations, with_relations
from zhie.models.tokenizer import load_tokenizer


class RelationTagger:
    """Classifies every candidate (PROJECT, MONEY|LOC) pair of a document; keeps the linked ones.

    Pairs of all the documents of a call share batches, so in int8 (activations scaled per batch) a pair's
    score can move slightly with its batch-mates; the default relation head (SharedRelationTagger) runs in fp32."""

    name = "relations"

    def __init__(self, model: torch.nn.Module, tokenizer, model_dir: Path, batch_size: int = 32) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_dir = model_dir
        self.batch_size = batch_size

    @classmethod
    def load(cls, path: str | Path, quantize: bool = False, **kwargs) -> "RelationTagger":
        """A saved relation model folder; quantize: dynamic int8 for nn.Linear layers (faster on CPU)."""
        model_dir = Path(path)
        if not (model_dir / "config.json").exists():
            raise FileNotFoundError(f"no relation model found at {model_dir}")
        model = load_relation_model(model_dir)
        if quantize:
            model = int8_linears(model)
        return cls(model, load_tokenizer(model_dir), model_dir, **kwargs)

    def predict(self, docs: Sequence[Document], batch_size: int | None = None) -> list[Document]:
        """Copies of `docs` whose `relations` are the predicted ones, each with a score (the
        probability of the one label the pair's entity types allow); pairs below threshold get none."""
        return predict_relations(self.model, self.tokenizer, docs, batch_size or self.batch_size)

    __call__ = predict


class SharedRelationTagger:
    """Relations from the NER encoder's own token states (zhie.models.pair_head): after the NER stage
    with `keep_hidden` this costs a small MLP per candidate pair, no second encoder pass; on records
    with given entities it runs the encoder once to get the states."""

    name = "relations"

    def __init__(self, ner: NerTagger, head: torch.nn.Module, thresholds: dict[str, float]) -> None:
        self.ner = ner
        self.head = head.eval()
        self.thresholds = thresholds

    @classmethod
    def load(cls, ner: NerTagger, model_dir: str | Path) -> "SharedRelationTagger":
        """The head saved beside the NER weights in `model_dir`; the tagger keeps its states for it."""
        head, cfg = load_pair_head(model_dir)
        if cfg["hidden_size"] != ner.backend.hidden_size:
            raise ValueError(f"{model_dir}: the relation head reads {cfg['hidden_size']}-wide states, "
                             f"the NER encoder gives {ner.backend.hidden_size}")
        ner.keep_hidden = True
        return cls(ner, head, cfg["thresholds"])

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        states = self.ner.states([d.text for d in docs])
        cands, probs = head_probs(self.head, docs, [torch.from_numpy(s.hidden) for s in states],
                                  [s.offsets for s in states])
        return with_relations(docs, cands, probs, self.thresholds)
