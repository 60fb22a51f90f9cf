"""A held-out part of annotated records, fixed by record id, so each round is scored on the same articles.

An article is held out when a hash of (seed, record id) falls below the fraction: the choice depends
on nothing else, so as the export grows round after round every article stays on its side and the
held-out set only gains new articles. The held-out share is the fraction up to sampling noise.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from zhie.annotation.records import Document


def is_held_out(record_id: str, fraction: float, seed: int = 0) -> bool:
    """Whether the record with this id belongs to the held-out part."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1], not {fraction}")
    digest = hashlib.sha256(f"{seed}\0{record_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") < fraction * 2**64


def split_holdout(records: Iterable[Document], fraction: float,
                  seed: int = 0) -> tuple[list[Document], list[Document]]:
    """(train, held out), each in input order; every record lands in exactly one of them."""
    train: list[Document] = []
    held: list[Document] = []
    for rec in records:
        (held if is_held_out(rec.id, fraction, seed) else train).append(rec)
    return train, held
