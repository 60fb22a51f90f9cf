"""The label set of docs/annotation-guide.md, defined once and imported everywhere.

Adding an entity or relation label here updates record validation, BIO tagging, the Label Studio
config, training and inference alike.
"""
from __future__ import annotations

ENTITY_LABELS: tuple[str, ...] = ("ORG", "MONEY", "DATE", "LOC", "PROJECT")

# relation label -> (head entity label, tail entity label)
RELATION_TYPES: dict[str, tuple[str, str]] = {
    "project_amount": ("PROJECT", "MONEY"),
    "project_location": ("PROJECT", "LOC"),
}
RELATION_LABELS: tuple[str, ...] = tuple(RELATION_TYPES)

OUTSIDE = "O"
BIO_TAGS: tuple[str, ...] = (OUTSIDE,) + tuple(f"{p}-{lab}" for lab in ENTITY_LABELS for p in ("B", "I"))
TAG2ID: dict[str, int] = {t: i for i, t in enumerate(BIO_TAGS)}
ID2TAG: dict[int, str] = dict(enumerate(BIO_TAGS))
