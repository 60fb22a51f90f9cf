"""Articles to import: .txt files, directories of them, and JSONL files of canonical records.

Each source gets its own ReadReport, so a bad file or line is named and counted, never skipped
silently. A .txt article's id is its path relative to the directory given (without the suffix),
or its file stem when the file itself was given; its text is the file, stripped of surrounding
whitespace, with line endings normalised to \\n.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from annotation.jsonl import ReadReport, Rejection, read_documents
from annotation.records import Document

SUFFIXES = (".txt", ".jsonl")


def _sources(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(file, id for a .txt file) in a stable order."""
    out: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            out += [(f, f.relative_to(p).with_suffix("").as_posix())
                    for f in sorted(p.rglob("*")) if f.is_file() and f.suffix in SUFFIXES]
        elif p.is_file() and p.suffix in SUFFIXES:
            out.append((p, p.stem))
        else:
            raise FileNotFoundError(f"{p}: not a directory, .txt or .jsonl file")
    return out


def _read_txt(path: Path, doc_id: str, report: ReadReport) -> Document | None:
    report.read += 1
    try:
        text = path.read_text(encoding="utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        report.rejected.append(Rejection(1, doc_id, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    if not text:
        report.rejected.append(Rejection(1, doc_id, "text", "empty article"))
        return None
    report.kept += 1
    return Document(id=doc_id, text=text)


def read_articles(paths: Sequence[Path]) -> tuple[list[Document], list[ReadReport]]:
    """All documents from `paths`; a record id seen before is rejected where it repeats."""
    docs: list[Document] = []
    reports: list[ReadReport] = []
    seen: dict[str, str] = {}
    for path, txt_id in _sources(paths):
        report = ReadReport(str(path))
        reports.append(report)
        found = list(read_documents(path, report)) if path.suffix == ".jsonl" else [_read_txt(path, txt_id, report)]
        for doc in found:
            if doc is None:
                continue
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
