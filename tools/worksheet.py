"""Annotators' worksheet tool: resolve surface-string annotations to offsets, and show them inline.

A worksheet line is {"id": ..., "entities": [[LABEL, SURFACE] or [LABEL, SURFACE, START], ...],
"relations": [[HEAD_INDEX, TAIL_INDEX, LABEL], ...]} with entities listed in text order; each
SURFACE is looked up from the end of the previous entity (or at START when given).

  python tools/worksheet.py check WORKSHEET.jsonl [--raw RAW.jsonl]        # inline view + errors
  python tools/worksheet.py resolve WORKSHEET.jsonl -o OUT.jsonl [--raw ..] # stand-off records
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zhie.annotation.records import Document  # noqa: E402
from zhie.annotation.standoff import load_raw_texts, to_standoff  # noqa: E402

DEFAULT_RAW = Path(__file__).resolve().parents[2] / "shared" / "data" / "news_raw.jsonl"


def resolve(sheet: dict, text: str) -> Document:
    cursor = 0
    ents = []
    for i, item in enumerate(sheet.get("entities", [])):
        label, surface = item[0], item[1]
        if len(item) > 2:
            start = int(item[2])
            if text[start:start + len(surface)] != surface:
                raise ValueError(f"entity #{i} {label} {surface!r}: not at given start {start}")
        else:
            start = text.find(surface, cursor)
            if start < 0:
                where = "anywhere" if text.find(surface) < 0 else f"after offset {cursor} (check order)"
                raise ValueError(f"entity #{i} {label} {surface!r}: not found {where}")
        ents.append({"id": f"e{i + 1}", "start": start, "end": start + len(surface), "label": label, "text": surface})
        cursor = start + len(surface)
    rels = []
    for j, (h, t, lab) in enumerate(sheet.get("relations", [])):
        if not (0 <= h < len(ents) and 0 <= t < len(ents)):
            raise ValueError(f"relation #{j}: index out of range")
        rels.append({"head": f"e{h + 1}", "tail": f"e{t + 1}", "label": lab})
    return Document(id=sheet["id"], text=text, entities=ents, relations=rels)


def load_worksheets(paths: list[str], raw: dict[str, dict]) -> dict[str, Document]:
    """Records keyed by id from worksheet lines, or from canonical records (e.g. a Label Studio export
    converted by `zhie annotate export`), which must carry the raw text unchanged."""
    docs = {}
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.strip():
                sheet = json.loads(line)
                text = raw[sheet["id"]]["text"]
                if "text" in sheet:
                    if sheet["text"] != text:
                        raise ValueError(f"{p}: record {sheet['id']}: text differs from the raw corpus")
                    docs[sheet["id"]] = Document.model_validate(sheet)
                else:
                    docs[sheet["id"]] = resolve(sheet, text)
    return docs


def inline(doc: Document) -> str:
    out, pos = [], 0
    for e in doc.sorted_entities():
        out.append(doc.text[pos:e.start])
        out.append(f"[{e.text}|{e.label}:{e.id}]")
        pos = e.end
    out.append(doc.text[pos:])
    rels = "; ".join(f"{r.head}->{r.tail} {r.label}" for r in doc.relations)
    return "".join(out) + f"\n  relations: {rels or '-'}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["check", "resolve"])
    ap.add_argument("worksheet", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    a = ap.parse_args()
    raw = load_raw_texts(a.raw)
    errors, docs = 0, []
    for n, line in enumerate(open(a.worksheet, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            sheet = json.loads(line)
            doc = resolve(sheet, raw[sheet["id"]]["text"])
        except Exception as exc:  # report every bad line, keep going
            errors += 1
            print(f"ERROR line {n}: {exc}", file=sys.stderr)
            continue
        docs.append(doc)
        if a.cmd == "check":
            print(f"=== {doc.id} ({len(doc.entities)} entities, {len(doc.relations)} relations)\n{inline(doc)}\n")
    if a.cmd == "resolve":
        with open(a.output, "w", encoding="utf-8") as fh:
            for d in docs:
                fh.write(json.dumps(to_standoff(d), ensure_ascii=False) + "\n")
    print(f"{len(docs)} documents ok, {errors} with errors", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
