"""Articles to import: .txt files, directories of them, and JSONL files of canonical records.

Each source gets its own ReadReport, so a bad file or line is named and counted, never skipped
silently. A .txt article's id is its path relative to the directory given (without the suffix),
or its file stem when the file itself was given; its text is the file, stripped of surrounding
whitespace, with line endings normalised to \\n.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from zhie.annotation.articles import input_files, read_text_file
from zhie.annotation.jsonl import ReadReport, Rejection, read_documents
from zhie.annotation.records import Document

def read_articles(paths: Sequence[Path]) -> tuple[list[Document], list[ReadReport]]:
    """All documents from `paths`; a record id seen before is rejected where it repeats."""
    docs: list[Document] = []
    reports: list[ReadReport] = []
    seen: dict[str, str] = {}
    for path, txt_id in (f for p in paths for f in input_files(p)):
        report = ReadReport(str(path))
        reports.append(report)
        if path.suffix == ".jsonl":
            found = list(read_documents(path, report))
        else:
            text = read_text_file(path, txt_id, report, strip=True)
            found = [Document(id=txt_id, text=text)] if text is not None else []
        for doc in found:
            if doc.id in seen:
                report.kept -= 1
                why = f"duplicate record id (first read from {seen[doc.id]})"
                report.rejected.append(Rejection(0, doc.id, "id", why))
                continue
            seen[doc.id] = str(path)
            docs.append(doc)
    return docs, reports


def has_annotations(doc: Document) -> bool:
    """A record that came with an "entities" or "relations" field is annotated (maybe with nothing)."""
    return bool({"entities", "relations"} & doc.model_fields_set)
