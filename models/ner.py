"""The NER model: any BERT encoder with a token-classification head over our IOB2 tag set."""
from __future__ import annotations

from pathlib import Path

import torch
from transformers import (AutoModelForTokenClassification, BertConfig, BertForTokenClassification, PreTrainedConfig,
                          PreTrainedModel)

from zhie.annotation.labels import BIO_TAGS, ID2TAG, TAG2ID
from zhie.models.crf import CONFIG_KEY, Transitions


class LabelSetMismatch(ValueError):
    """A saved model whose tags are not this project's label set."""


def build_ner_model(base: str | Path | BertConfig) -> PreTrainedModel:
    """A fresh tagging head on `base`: a checkpoint folder/name (pretrained encoder) or a config (random init)."""
    if isinstance(base, BertConfig):
        cfg = BertConfig(**{**base.to_dict(), "num_labels": len(BIO_TAGS), "id2label": ID2TAG, "label2id": TAG2ID})
        return BertForTokenClassification(cfg)
    return AutoModelForTokenClassification.from_pretrained(
        str(base), num_labels=len(BIO_TAGS), id2label=ID2TAG, label2id=TAG2ID, ignore_mismatched_sizes=True,
        dtype=torch.float32,  # weights may be stored in fp16; train in fp32
    )


def load_ner_model(path: str | Path) -> PreTrainedModel:
    """Load a fine-tuned NER model and check it predicts exactly our tags, in our order."""
    model = AutoModelForTokenClassification.from_pretrained(str(path), dtype=torch.float32)
    got = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if got != list(BIO_TAGS):
        raise LabelSetMismatch(f"{path}: model tags {got} differ from the project's {list(BIO_TAGS)}")
    return model


def crf_transitions(config: PreTrainedConfig) -> Transitions | None:
    """The learned CRF transitions of a model trained with `--crf`; None for a plain tagger."""
    value = getattr(config, CONFIG_KEY, None)
    return None if value is None else Transitions.from_config(value)
