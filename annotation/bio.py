"""Character-level IOB2 tags <-> entity spans, lossless for non-overlapping entities."""
from __future__ import annotations

from zhie.annotation.labels import ENTITY_LABELS, OUTSIDE
from zhie.annotation.records import Document, Entity


class TagSequenceError(ValueError):
    """An IOB2 sequence that strict decoding cannot read (an I- tag that continues nothing)."""


def to_tags(doc: Document) -> list[str]:
    """One IOB2 tag per character of `doc.text`."""
    tags = [OUTSIDE] * len(doc.text)
    for e in doc.entities:
        tags[e.start] = f"B-{e.label}"
        for i in range(e.start + 1, e.end):
            tags[i] = f"I-{e.label}"
    return tags


def spans_from_tags(tags: list[str], strict: bool = True) -> list[tuple[int, int, str]]:
    """Decode IOB2 tags into (start, end, label) spans.

    strict: an I-X that does not continue a B-X/I-X raises; otherwise it starts a new span
    (the lenient reading used for model output).
    """
    spans: list[tuple[int, int, str]] = []
    cur: list | None = None
    for i, tag in enumerate(tags):
        if tag == OUTSIDE:
            cur = None
            continue
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I") or label not in ENTITY_LABELS:
            raise TagSequenceError(f"position {i}: unknown tag {tag!r}")
        if prefix == "I" and cur is not None and cur[2] == label:
            cur[1] = i + 1
            continue
        if prefix == "I" and strict:
            raise TagSequenceError(f"position {i}: {tag} does not continue an entity")
        cur = [i, i + 1, label]
        spans.append(cur)  # type: ignore[arg-type]
    return [tuple(s) for s in spans]  # type: ignore[misc]


def entities_from_tags(text: str, tags: list[str], strict: bool = True) -> list[Entity]:
    """Entities with ids e1, e2, ... in text order."""
    if len(tags) != len(text):
        raise TagSequenceError(f"{len(tags)} tags for a text of {len(text)} characters")
    return [
        Entity(id=f"e{n}", start=s, end=e, label=lab, text=text[s:e])
        for n, (s, e, lab) in enumerate(spans_from_tags(tags, strict), 1)
    ]


def from_tags(doc_id: str, text: str, tags: list[str]) -> Document:
    return Document(id=doc_id, text=text, entities=entities_from_tags(text, tags))
