"""Training data sources by spec (`news:train*10`, `cluener`, `pd:4000`, `my.jsonl`), loaded loudly.

A spec that cannot mean what the user typed (an unknown split, a non-integer count, a source that
yields no documents) is an error naming the spec, never an empty or surprising training set; bad
lines of a JSONL file are counted and reported through `annotation.jsonl.ReadReport`.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from zhie.annotation.corpora import read_cluener, read_fewfc, read_peoples_daily
from zhie.annotation.jsonl import ReadReport, read_documents
from zhie.annotation.records import Document
from zhie.annotation.standoff import load_standoff
from zhie.training.paths import REPO, SHARED

NEWS_ANNOTATIONS = REPO / "data" / "annotations" / "news.jsonl"
NAMED = ("news", "cluener", "fewfc", "pd")
USAGE = "use news:SPLIT, cluener, fewfc, pd[:N] or a .jsonl path, each optionally *N (repeat N times)"


class DataSourceError(ValueError):
    """A data spec that is malformed, unknown, missing its files, or gives no documents."""


@dataclass(frozen=True)
class DataSpec:
    """One parsed `NAME[:OPTION][*TIMES]`; `text` is what the user typed, for messages."""

    text: str
    name: str
    option: str | None
    times: int


@dataclass
class LoadedSource:
    """The documents of one spec (before repetition) and, for a JSONL file, its read report."""

    spec: DataSpec
    documents: list[Document]
    report: ReadReport | None = None


def _positive_int(value: str, what: str, spec: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise DataSourceError(f"data spec {spec!r}: {what} must be a whole number >= 1, not {value!r}")
    return int(value)


def news_splits(path: Path = NEWS_ANNOTATIONS) -> list[str]:
    """The splits our stand-off annotations use (train/dev/test)."""
    with open(path, encoding="utf-8") as fh:
        return sorted({json.loads(line).get("split") for line in fh if line.strip()} - {None})


def parse_spec(text: str) -> DataSpec:
    """Parse and check a spec (syntax, news split) without loading data; files are checked when loading."""
    body, star, times = text.partition("*")
    count = _positive_int(times, "the repeat count after '*'", text) if star else 1
    name, colon, option = body.partition(":")
    if name not in NAMED:
        return DataSpec(text, body, None, count)  # a file path (checked when loading)
    if name == "news":
        splits = news_splits()
        if not option:
            raise DataSourceError(f"data spec {text!r}: name a split, e.g. news:train ({', '.join(splits)})")
        if option not in splits:
            raise DataSourceError(f"data spec {text!r}: unknown split {option!r}; "
                                  f"{NEWS_ANNOTATIONS.name} has {', '.join(splits)}")
    if name in ("cluener", "fewfc") and colon:
        raise DataSourceError(f"data spec {text!r}: {name} takes no ':' option")
    if name == "pd" and colon:
        _positive_int(option, "the sentence count after 'pd:'", text)
    return DataSpec(text, name, option or None, count)


def load_spec(spec: str | DataSpec, seed: int = 13) -> LoadedSource:
    """Load one spec; raise DataSourceError naming it when it cannot give any documents."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    ext = SHARED / "external"
    needs = {"news": SHARED / "news_raw.jsonl", "cluener": ext / "cluener", "fewfc": ext / "fewfc"}
    if spec.name in needs and not needs[spec.name].exists():
        raise DataSourceError(f"data spec {spec.text!r} needs {needs[spec.name]}, which is missing "
                              "(set ZHIE_SHARED_DATA)")
    report = None
    if spec.name == "news":
        docs = list(load_standoff(NEWS_ANNOTATIONS, SHARED / "news_raw.jsonl", split=spec.option))
    elif spec.name == "cluener":
        docs = list(read_cluener(ext / "cluener" / "train.json"))
    elif spec.name == "fewfc":
        docs = [d for f in ("train_base.json", "train_trans.json") for d in read_fewfc(ext / "fewfc" / f)]
    elif spec.name == "pd":
        docs = list(read_peoples_daily())
        if spec.option:
            docs = random.Random(seed).sample(docs, min(int(spec.option), len(docs)))
    elif Path(spec.name).is_file():
        report = ReadReport(spec.name)
        docs = list(read_documents(spec.name, report))
    elif spec.name.endswith(".jsonl"):
        raise DataSourceError(f"data spec {spec.text!r}: no such file {spec.name}")
    else:
        raise DataSourceError(f"unknown data source {spec.text!r}: {USAGE}")
    if not docs:
        why = f" ({report.summary()})" if report is not None else ""
        raise DataSourceError(f"data spec {spec.text!r} gave no documents{why}")
    return LoadedSource(spec, docs, report)


def load_source(spec: str, seed: int = 13) -> list[Document]:
    """The documents of one spec, without repetition (for tests and scripts)."""
    return load_spec(spec, seed).documents


def load_specs(specs: Iterable[str], log: Callable[[str], None] = print, seed: int = 13) -> list[Document]:
    """Documents of every spec, each repeated as asked; says what each gave and every rejected line.

    Every spec is parsed before any is loaded, so a typo fails in a second, not after minutes of loading."""
    parsed = [parse_spec(text) for text in specs]
    docs: list[Document] = []
    for spec in parsed:
        got = load_spec(spec, seed)
        if got.report is not None:
            for rejection in got.report.rejected:
                log(f"[data] rejected: {got.spec.name} {rejection}")
            log(f"[data] {got.report.summary()}")
        log(f"[data] {got.spec.text}: {len(got.documents)} documents x{got.spec.times}")
        docs += got.documents * got.spec.times
    return docs
