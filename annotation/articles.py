"""Read articles to predict on from a .txt file, a folder of .txt files, a JSONL file or stdin."""
from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from annotation.jsonl import ReadReport, Rejection, read_models
from annotation.records import Article


def _looks_like_jsonl(text: str) -> bool:
    return text.lstrip().startswith("{")


def read_articles(source: str | Path, report: ReadReport) -> Iterator[Article]:
    """Yield articles; a text file is one article whose id is the file name without suffix.

    `-` reads stdin: JSONL when it starts with `{`, else one article with id "stdin".
    """
    if str(source) == "-":
        data = sys.stdin.read()
        if _looks_like_jsonl(data):
            yield from read_models(io.StringIO(data), Article, report)
        else:
            yield from _one_text("stdin", data, "<stdin>", report)
        return
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    if path.is_dir():
        files = sorted(path.rglob("*.txt"))
        if not files:
            raise FileNotFoundError(f"no .txt files in {path}")
        for f in files:
            yield from _one_text(str(f.relative_to(path).with_suffix("")), f.read_text(encoding="utf-8"), str(f), report)
    elif path.suffix == ".jsonl":
        yield from read_models(path, Article, report)
    else:
        yield from _one_text(path.stem, path.read_text(encoding="utf-8"), str(path), report)


def _one_text(rid: str, text: str, where: str, report: ReadReport) -> Iterator[Article]:
    report.read += 1
    if not text.strip():
        report.rejected.append(Rejection(1, rid, "text", f"{where} is empty"))
        return
    report.kept += 1
    yield Article(id=rid, text=text)
