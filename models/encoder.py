"""Compact Chinese BERT encoders by preset name, sized for CPU inference after pretraining on one GPU run.

The vocabulary is bert-base-chinese's (21,128 entries, models/vocab), so the project tokenizer fits these
models and any checkpoint of that family can replace them later. This module imports only torch and
transformers because it also runs on the GPU machine, which has neither jieba nor pydantic.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import BertConfig, BertForMaskedLM

VOCAB_SIZE = 21128
MAX_POSITIONS = 512

PRESETS: dict[str, dict[str, int]] = {
    # ~8.8 M parameters: the CPU-friendly option (2.5-3x the throughput of "base").
    "small": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    # ~19 M parameters: the model the GPU pretraining run targets.
    "base": {"num_hidden_layers": 6, "hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536},
}


def bert_config(preset: str, **overrides: Any) -> BertConfig:
    """BertConfig for a named preset; `overrides` (e.g. a tiny size for tests) replace preset fields."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    fields: dict[str, Any] = {
        "vocab_size": VOCAB_SIZE,
        "max_position_embeddings": MAX_POSITIONS,
        "pad_token_id": 0,
        **PRESETS[preset],
        **overrides,
    }
    return BertConfig(**fields)


def build_mlm(config: BertConfig, seed: int | None = None) -> BertForMaskedLM:
    """A randomly initialised BertForMaskedLM (tied input/output embeddings); `seed` makes the init reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return BertForMaskedLM(config)
