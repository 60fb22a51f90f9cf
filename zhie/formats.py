"""Output formats of `zhie predict`: JSONL records, a readable table, one CSV row per project."""
from __future__ import annotations

import csv
from enum import Enum
from typing import TextIO

from zhie.annotation.jsonl import dump_line
from zhie.annotation.records import Document


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    table = "table"
    csv = "csv"


CSV_COLUMNS = ["id", "project", "amounts", "locations", "dates", "organisations"]


def _unique(texts: list[str]) -> str:
    return "; ".join(dict.fromkeys(texts))


def table(doc: Document) -> str:
    """Entities, then relations, then the projects, for reading in a terminal."""
    lines = [f"# {doc.id}  ({len(doc.entities)} entities, {len(doc.relations)} relations)",
             f"{'label':<9}{'span':>11}  {'score':>5}  text"]
    for e in doc.entities:
        lines.append(f"{e.label:<9}{e.start:>5}-{e.end:<5}  {e.score or 0:.2f}  {e.text}")
    by_id = {e.id: e.text for e in doc.entities}
    for r in doc.relations:
        lines.append(f"{r.label}: {by_id[r.head]} -> {by_id[r.tail]}  ({r.score or 0:.2f})")
    if doc.projects:
        lines.append(f"{'project':<30}  {'amounts':<20}  locations")
        for p in doc.projects:
            lines.append(f"{p.name:<30}  {_unique([a.text for a in p.amounts]) or '-':<20}  "
                         f"{_unique([loc.text for loc in p.locations]) or '-'}")
    return "\n".join(lines) + "\n"


def csv_rows(doc: Document) -> list[dict[str, str]]:
    """One row per project, with the article's dates and organisations as context; an article
    without projects still gets one row (empty project), so every input is accounted for."""
    context = {"id": doc.id,
               "dates": _unique([e.text for e in doc.sorted_entities() if e.label == "DATE"]),
               "organisations": _unique([e.text for e in doc.sorted_entities() if e.label == "ORG"])}
    rows = [{**context, "project": p.name, "amounts": _unique([a.text for a in p.amounts]),
             "locations": _unique([loc.text for loc in p.locations])} for p in doc.projects or []]
    return rows or [{**context, "project": "", "amounts": "", "locations": ""}]


class RecordWriter:
    """Writes predicted documents to a stream in one format (the CSV header once)."""

    def __init__(self, out: TextIO, fmt: OutputFormat) -> None:
        self.out, self.fmt = out, fmt
        self._csv = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n") if fmt == OutputFormat.csv else None
        if self._csv is not None:
            self._csv.writeheader()

    def write(self, doc: Document) -> None:
        if self._csv is not None:
            self._csv.writerows(csv_rows(doc))
        elif self.fmt == OutputFormat.table:
            self.out.write(table(doc))
        else:
            self.out.write(dump_line(doc) + "\n")
