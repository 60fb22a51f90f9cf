"""The relation stage: documents with entities in, the same documents with scored relations out.

Candidate pairs, marked encoder inputs, batching and thresholds are zhie.models.relation's (shared
with training), so what is evaluated is exactly what runs here.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from zhie.annotation.records import Document
from zhie.models.relation import load_relation_model, predict_relations
from zhie.models.tokenizer import load_tokenizer


class RelationTagger:
    """Classifies every candidate (PROJECT, MONEY|LOC) pair of a document; keeps the linked ones."""

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
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return cls(model, load_tokenizer(model_dir), model_dir, **kwargs)

    def predict(self, docs: Sequence[Document], batch_size: int | None = None) -> list[Document]:
        """Copies of `docs` whose `relations` are the predicted ones, each with a score (the
        probability of the one label the pair's entity types allow); pairs below threshold get none."""
        return predict_relations(self.model, self.tokenizer, docs, batch_size or self.batch_size)

    __call__ = predict
