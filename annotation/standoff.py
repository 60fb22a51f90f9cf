"""Stand-off annotations: our labels for texts we may not copy, joined back to the text at load time.

The repository stores, per document, the record id, the sha256 of its text, its split, and
entities/relations by offset. The text itself stays in ../shared/data/news_raw.jsonl.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from zhie.annotation.records import Document


class StandoffMismatch(ValueError):
    """Raised when a stored annotation no longer fits the text it was made for."""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_standoff(doc: Document, split: str | None = None) -> dict:
    """Strip the text (and entity surface strings) from a record, keeping a hash to detect drift."""
    rec: dict = {"id": doc.id, "sha256": text_sha256(doc.text)}
    if split is not None:
        rec["split"] = split
    rec["entities"] = [{"id": e.id, "start": e.start, "end": e.end, "label": e.label} for e in doc.sorted_entities()]
    rec["relations"] = [{"head": r.head, "tail": r.tail, "label": r.label} for r in doc.relations]
    return rec


def join_standoff(rec: dict, text: str) -> Document:
    """Rebuild a full record from its stand-off form and the raw text; fail loudly naming the record."""
    rid = rec.get("id", "?")
    if text_sha256(text) != rec.get("sha256"):
        raise StandoffMismatch(f"record {rid}: sha256 of the raw text does not match the stored hash")
    ents = []
    for e in rec.get("entities", []):
        if not (0 <= e["start"] < e["end"] <= len(text)):
            raise StandoffMismatch(f"record {rid}: entity {e.get('id')} offsets [{e['start']},{e['end']}) outside text")
        ents.append({**e, "text": text[e["start"]:e["end"]]})
    extra = {k: v for k, v in rec.items() if k not in {"id", "sha256", "entities", "relations"}}
    try:
        return Document(id=rid, text=text, entities=ents, relations=rec.get("relations", []), **extra)
    except ValueError as exc:
        raise StandoffMismatch(f"record {rid}: {exc}") from exc


def load_raw_texts(raw_path: Path) -> dict[str, dict]:
    """Read a raw corpus of {"id","text",...} lines into a dict keyed by id."""
    out: dict[str, dict] = {}
    with open(raw_path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                out[r["id"]] = r
    return out


def annotation_coverage(ann_path: Path, raw_path: Path) -> dict[str, int]:
    """How much of the raw corpus is annotated: a statistic, since annotation proceeds in rounds.

    Annotated ids missing from the raw corpus are an error (their text is gone), not a statistic.
    """
    raw = load_raw_texts(raw_path)
    with open(ann_path, encoding="utf-8") as fh:
        ids = [json.loads(line)["id"] for line in fh if line.strip()]
    unknown = [i for i in ids if i not in raw]
    if unknown:
        raise StandoffMismatch(f"records {unknown[:3]} ({len(unknown)} in all): not found in {raw_path}")
    return {"raw": len(raw), "annotated": len(set(ids)), "unannotated": len(raw) - len(set(ids))}


def load_standoff(ann_path: Path, raw_path: Path, split: str | None = None) -> Iterator[Document]:
    """Yield full records for stored annotations (optionally one split), joined with their raw texts."""
    raw = load_raw_texts(raw_path)
    with open(ann_path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            if split is not None and rec.get("split") != split:
                continue
            if rec["id"] not in raw:
                raise StandoffMismatch(f"record {rec['id']}: not found in {raw_path}")
            yield join_standoff(rec, raw[rec["id"]]["text"])
