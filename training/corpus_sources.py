"""Readers of the raw text sources of the pretraining corpus: each yields documents as lists of paragraphs.

Left out on purpose: the Debian documentation dump (technical manuals, far from news style) and the
labelled NER/event sets (FewFC, CLUENER, CFSC-BIO, Resume, Weibo), so that their test texts stay unseen.
data/news_raw.jsonl (our own articles) is in: MLM sees its text, never its labels.
"""

from __future__ import annotations

import csv
import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from zhie.annotation.sources import peoples_daily_path

def _json_lines(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _read_news_raw(root: Path) -> Iterator[list[str]]:
    for row in _json_lines(root / "news_raw.jsonl"):
        yield [row["text"]]


_TAG = re.compile(r"<[^>]+>")
_HTML_BREAK = re.compile(r"</p>|<p[^>]*>|<br\s*/?>", re.I)
_MD_LINK_LINE = re.compile(r"^\s*\[[^\]]*\]\([^)]*\)\s*$")
_CCTV_PREFIX = re.compile(r"^\s*央视网消息\s*[（(]\s*新闻联播\s*[)）]\s*[：:]\s*")


def read_xinwenlianbo(root: Path, first_day: str = "", before_day: str = "") -> Iterator[list[str]]:
    """One document per news item of the 详细新闻 section (the summary repeats the item titles), in date
    order; `first_day` (YYYYMMDD) skips the days before it, `before_day` stops at that day."""
    for path in sorted((root / "external/xinwenlianbo/news").glob("*.md")):
        if path.stem < first_day:
            continue
        if before_day and path.stem >= before_day:
            break
        _, _, detail = path.read_text(encoding="utf-8").partition("## 详细新闻")
        for item in re.split(r"^### ", detail, flags=re.M)[1:]:
            title, _, body = item.partition("\n")
            paragraphs = [title]
            for part in _HTML_BREAK.split(body):
                if _MD_LINK_LINE.match(part):
                    continue
                text = html.unescape(_TAG.sub("", part))
                paragraphs.append(_CCTV_PREFIX.sub("", text))
            yield paragraphs


# task -> (text fields of labelled rows, text fields of problem_list "input" (None: input is the text),
#          whether the text starts with a question ending in "？" to strip)
_FINCUGE_FIELDS: dict[str, tuple[tuple[int, ...], tuple[int, ...] | None, bool]] = {
    "finna": ((0, 1), None, False),
    "finnl": ((0,), None, False),
    "finfe": ((0,), None, False),
    "finne": ((0,), None, False),
    "finese": ((1,), (0,), False),
    "finnsp": ((1, 2), (0, 1), False),
    "finre": ((3,), (2,), False),
    "finqa": ((0,), None, True),
    "fincqa": ((0,), None, True),
}


def _read_fincuge(root: Path) -> Iterator[list[str]]:
    for task, (row_fields, input_fields, has_question) in _FINCUGE_FIELDS.items():
        for path in sorted((root / "external/fincuge" / task).glob("*.json")):
            for row in json.loads(path.read_text(encoding="utf-8")):
                if isinstance(row, dict):
                    texts = [row["input"]] if input_fields is None else [row["input"][i] for i in input_fields]
                else:
                    texts = [row[i] for i in row_fields]
                if has_question:
                    texts = [t.partition("？")[2] or t for t in texts]
                yield [p for t in texts if isinstance(t, str) for p in t.split("###")]


def _xlsx_column(path: Path, column: str) -> list[str]:
    """Text cells of one named column of the first sheet (openpyxl: the `train` extra; not on the GPU machine)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    col = list(next(rows)).index(column)
    values = [row[col] for row in rows if isinstance(row[col], str)]
    book.close()
    return values


def _read_smoothnlp(root: Path) -> Iterator[list[str]]:
    folder = root / "external/smoothnlp-financial"
    for name, column in (
        ("SmoothNLP工商数据集样本10K.xlsx", "公司介绍"),
        ("SmoothNLP投资事件数据集样本2k.xlsx", "事件资讯"),
        ("SmoothNLP投资结构数据集样本1k.xlsx", "介绍"),
    ):
        for text in _xlsx_column(folder / name, column):
            yield [text]


def _read_cfsc(root: Path) -> Iterator[list[str]]:
    folder = root / "external/cfsc"
    for row in json.loads((folder / "CFSC-ABSA/json/test.txt").read_text(encoding="utf-8")):
        yield [row["sentence"]]
    for name in ("val.json", "test.json"):
        for row in json.loads((folder / "CFSC-NER/json" / name).read_text(encoding="utf-8")):
            yield [row["text"]]


def _read_wwwxmu(root: Path) -> Iterator[list[str]]:
    folder = root / "external/financial-news-sentiment-wwwxmu"
    with open(folder / "test_data.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield [row["标题"], row["正文"]]
    for title in _xlsx_column(folder / "news_seed.xlsx", "标题"):
        yield [title]


def _read_nlpcc2017(root: Path) -> Iterator[list[str]]:
    with open(root / "external/nlpcc2017-news-headlines/test.char", encoding="utf-8") as f:
        for line in f:
            _, _, chars = line.partition("\t")
            yield ["".join(chars.split())]


def _read_tnews(root: Path) -> Iterator[list[str]]:
    for path in sorted((root / "external/tnews-fewclue").glob("*.json")):
        if path.name.startswith("label_index"):
            continue
        for row in _json_lines(path):
            yield [row["sentence"]]


def _read_thucnews(root: Path) -> Iterator[list[str]]:
    folder = root / "external/thucnews-titles"
    for name, title_col in (("dev.txt", 0), ("test.txt", 0), ("thucnews_train_1w.txt", 1)):
        with open(folder / name, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2:
                    yield [parts[title_col]]


def _read_cmrc2018(root: Path) -> Iterator[list[str]]:
    for name in ("cmrc2018_dev.json", "cmrc2018_trial.json"):
        data = json.loads((root / "external/cmrc2018" / name).read_text(encoding="utf-8"))["data"]
        for article in data:
            for para in article["paragraphs"]:
                yield [para["context"]]


def _read_peoples_daily(root: Path) -> Iterator[list[str]]:
    """One document per line (article boundaries are not marked); `word/pos` tags stripped."""
    with open(peoples_daily_path(), encoding="utf-8") as f:
        for line in f:
            yield ["".join(tok.rsplit("/", 1)[0] for tok in line.split())]


# Priority order: earlier sources win deduplication; the size cap drops from the end of DROP_ORDER.
SOURCES: dict[str, Callable[[Path], Iterator[list[str]]]] = {
    "news_raw": _read_news_raw,
    "xinwenlianbo": read_xinwenlianbo,
    "fincuge": _read_fincuge,
    "smoothnlp": _read_smoothnlp,
    "cfsc": _read_cfsc,
    "wwwxmu": _read_wwwxmu,
    "nlpcc2017": _read_nlpcc2017,
    "tnews": _read_tnews,
    "thucnews": _read_thucnews,
    "cmrc2018": _read_cmrc2018,
    "peoples_daily_1998": _read_peoples_daily,
}
DROP_ORDER = ("peoples_daily_1998", "cmrc2018", "thucnews", "tnews", "nlpcc2017")
