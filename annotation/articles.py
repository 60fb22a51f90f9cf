"""Read articles from .txt files, folders of them, JSONL files or stdin, reporting every bad input.

A .txt article's id is its path inside the folder given, without `.txt` (`articles/2024/a.txt` →
`2024/a`), or the file stem when the file itself was given.
"""
from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from zhie.annotation.jsonl import ReadReport, Rejection, read_models
from zhie.annotation.records import Article

SUFFIXES = (".txt", ".jsonl")


def input_files(path: Path) -> list[tuple[Path, str]]:
    """(file, id for a .txt file) for a file or every .txt/.jsonl file under a folder, in a stable order."""
    if path.is_dir():
        files = [(f, f.relative_to(path).with_suffix("").as_posix())
                 for f in sorted(path.rglob("*")) if f.is_file() and f.suffix in SUFFIXES]
        if not files:
            raise FileNotFoundError(f"no .txt or .jsonl files in {path}")
        return files
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    return [(path, path.stem)]


def read_text_file(path: Path, doc_id: str, report: ReadReport, strip: bool = False) -> str | None:
    """The article in a .txt file (a UTF-8 BOM dropped), or None with the reason in `report`."""
    report.read += 1
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        report.rejected.append(Rejection(1, doc_id, None, f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    if strip:
        text = text.strip()
    if not text.strip():
        report.rejected.append(Rejection(1, doc_id, "text", f"{path} is empty"))
        return None
    report.kept += 1
    return text


def read_articles(source: str | Path, report: ReadReport) -> Iterator[Article]:
    """Yield articles to predict on; texts are kept exactly as read, so offsets index the input.

    `-` reads stdin: JSONL when it starts with `{`, else one article with id "stdin".
    """
    if str(source) == "-":
        data = sys.stdin.buffer.read()
        if data.lstrip().removeprefix(b"\xef\xbb\xbf").startswith(b"{"):
            yield from read_models(io.BytesIO(data), Article, report)
        else:
            report.read += 1
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                report.rejected.append(Rejection(1, "stdin", None, f"stdin is not UTF-8 text ({exc.reason} at byte {exc.start})"))
                return
            if text.strip():
                report.kept += 1
                yield Article(id="stdin", text=text)
            else:
                report.rejected.append(Rejection(1, "stdin", "text", "stdin is empty"))
        return
    for path, txt_id in input_files(Path(source)):
        if path.suffix == ".jsonl":
            yield from read_models(path, Article, report)
        else:
            text = read_text_file(path, txt_id, report)
            if text is not None:
                yield Article(id=txt_id, text=text)
