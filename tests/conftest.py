"""Shared fixtures: a tiny randomly initialised NER checkpoint (no download, built in seconds)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_ner_model_dir(tmp_path_factory):
    """A 1-layer BERT tagger with our label set and tokenizer, saved with save_pretrained."""
    from transformers import BertConfig

    from zhie.models.ner import build_ner_model
    from zhie.models.tokenizer import tokenizer_from_vocab

    out = tmp_path_factory.mktemp("tiny-ner")
    cfg = BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=512)
    build_ner_model(cfg).save_pretrained(out)
    tokenizer_from_vocab().save_pretrained(out)
    return out
