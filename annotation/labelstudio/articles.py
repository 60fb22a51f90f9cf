"""Articles to import: .txt files, directories of them, and JSONL files of canonical records.

Each source gets its own ReadReport, so a bad file or line is named and counted, never skipped
silently. A .txt article's id is its path relative to the directory given (without the suffix),
or its file stem when the file itself was given; its text is the file, stripped of surrounding
whitespace, with line endings normalised to \\n.

Two sources can still give one id (`a/x.txt` and `b/x.txt` given as files, or folders `a/` and
`b/` that both hold `x.txt`). The same text under one id is a duplicate, reported and read once;
different texts under one id are an IdConflict, because importing one would hide the other.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from zhie.annotation.articles import input_files, read_text_file
from zhie.annotation.jsonl import ReadReport, Rejection, read_numbered
from zhie.annotation.records import Document

CONFLICT_HINT = ("for .txt files give their common parent folder instead, so that each id includes its subfolder "
                 "(folder news/ holding 2024/x.txt and 2025/x.txt gives ids 2024/x and 2025/x), or rename one; "
                 "for JSONL records change one id")


class IdConflict(ValueError):
    """Different articles carry the same record id; the message names every clash and the way out."""


def _where(path: Path, line: int) -> str:
    return f"{path} line {line}" if path.suffix == ".jsonl" else str(path)


def read_articles(paths: Sequence[Path]) -> tuple[list[Document], list[ReadReport]]:
    """All documents from `paths`; an id seen before is a reported duplicate when its text is the same.

    Raises IdConflict, after reading everything, when an id comes back with a different text.
    """
    docs: list[Document] = []
    reports: list[ReadReport] = []
    seen: dict[str, tuple[str, Document]] = {}
    conflicts: list[str] = []
    for path, txt_id in (f for p in paths for f in input_files(p)):
        report = ReadReport(str(path))
        reports.append(report)
        if path.suffix == ".jsonl":
            found = list(read_numbered(path, Document, report))
        else:
            text = read_text_file(path, txt_id, report, strip=True)
            found = [(1, Document(id=txt_id, text=text))] if text is not None else []
        for line, doc in found:
            if doc.id not in seen:
                seen[doc.id] = (_where(path, line), doc)
                docs.append(doc)
                continue
            first, earlier = seen[doc.id]
            if earlier.text != doc.text:
                conflicts.append(f"id {doc.id!r}: {_where(path, line)} and {first} hold different texts")
            report.kept -= 1
            report.rejected.append(Rejection(line, doc.id, "id", f"duplicate record id (first read from {first})"))
    if conflicts:
        raise IdConflict(f"{len(conflicts)} record id(s) name different articles: " + "; ".join(conflicts)
                         + f". Nothing was imported: {CONFLICT_HINT}.")
    return docs, reports


def has_annotations(doc: Document) -> bool:
    """A record that came with an "entities" or "relations" field is annotated (maybe with nothing)."""
    return bool({"entities", "relations"} & doc.model_fields_set)
