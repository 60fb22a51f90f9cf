"""Streaming JSONL read/write with a report of every rejected line (nothing is dropped silently)."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ValidationError

from zhie.annotation.records import Document

M = TypeVar("M", bound=BaseModel)


@dataclass
class Rejection:
    line: int
    record_id: str | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        rid = f" record {self.record_id}" if self.record_id else ""
        fld = f" field {self.field}:" if self.field else ""
        return f"line {self.line}{rid}:{fld} {self.reason}"


@dataclass
class ReadReport:
    """Counts and reasons for one read; `kept + len(rejected) == read` always holds."""

    source: str
    read: int = 0
    kept: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.source}: read {self.read}, kept {self.kept}, rejected {len(self.rejected)}"

    def to_dict(self) -> dict:
        return {"source": self.source, "read": self.read, "kept": self.kept,
                "rejected": [r.__dict__ for r in self.rejected]}


def _rejections_from_validation(line: int, rid: str | None, exc: ValidationError) -> list[Rejection]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or None
        msg = err["msg"].removeprefix("Value error, ")
        out.append(Rejection(line, rid, loc, msg))
    return out


def read_numbered(path: str | Path | IO[str] | IO[bytes], model: type[M],
                  report: ReadReport | None = None) -> Iterator[tuple[int, M]]:
    """Yield (line number, record) for each valid line; record every bad line in `report` and keep going.

    The line number lets a caller that rejects a valid record later (a repeated id) name its line.
    Files are read as bytes and decoded line by line, so a line that is not UTF-8 is rejected
    alone (a UTF-8 BOM at the start is dropped).
    """
    own = not hasattr(path, "read")
    fh = open(path, "rb") if own else path  # type: ignore[arg-type]
    report = report if report is not None else ReadReport(str(getattr(fh, "name", path)))
    try:
        for n, line in enumerate(fh, 1):
            if isinstance(line, bytes):
                try:
                    line = line.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    report.read += 1
                    report.rejected.append(Rejection(n, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
                    continue
            if not line.strip():
                continue
            report.read += 1
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                report.rejected.append(Rejection(n, None, None, f"invalid JSON: {exc.msg} at column {exc.colno}"))
                continue
            if not isinstance(raw, dict):
                report.rejected.append(Rejection(n, None, None, "a record must be a JSON object"))
                continue
            rid = raw.get("id") if isinstance(raw.get("id"), str) else None
            try:
                obj = model.model_validate(raw)
            except ValidationError as exc:
                errs = _rejections_from_validation(n, rid, exc)
                first = errs[0]
                if len(errs) > 1:
                    first.reason += f" (+{len(errs) - 1} more: " + "; ".join(
                        f"{e.field}: {e.reason}" for e in errs[1:]) + ")"
                report.rejected.append(first)
                continue
            report.kept += 1
            yield n, obj
    finally:
        if own:
            fh.close()


def read_models(path: str | Path | IO[str] | IO[bytes], model: type[M],
                report: ReadReport | None = None) -> Iterator[M]:
    """Yield each valid line as `model` (see `read_numbered`)."""
    return (obj for _, obj in read_numbered(path, model, report))


def read_documents(path: str | Path | IO[str], report: ReadReport | None = None) -> Iterator[Document]:
    return read_models(path, Document, report)


def dump_line(obj: BaseModel | dict) -> str:
    data = obj.model_dump(exclude_none=True) if isinstance(obj, BaseModel) else obj
    return json.dumps(data, ensure_ascii=False)


def write_jsonl(records: Iterable[BaseModel | dict], path: str | Path | IO[str]) -> int:
    """Write records one per line; returns how many were written. `-` writes to stdout."""
    own = not hasattr(path, "write") and str(path) != "-"
    fh = open(path, "w", encoding="utf-8") if own else (sys.stdout if str(path) == "-" else path)
    n = 0
    try:
        for r in records:
            fh.write(dump_line(r) + "\n")  # type: ignore[union-attr]
            n += 1
    finally:
        if own:
            fh.close()  # type: ignore[union-attr]
    return n
