"""Training data: named sources -> canonical Documents -> tokenised windows with aligned tag ids."""
from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

from zhie.annotation.bio import to_tags
from zhie.annotation.corpora import read_cluener, read_fewfc, read_peoples_daily
from zhie.annotation.labels import OUTSIDE, TAG2ID
from zhie.annotation.records import Document
from zhie.annotation.standoff import load_standoff
from zhie.training.paths import REPO, SHARED

NEWS_ANNOTATIONS = REPO / "data" / "annotations" / "news.jsonl"
IGNORE = -100


class DataSourceError(ValueError):
    """A data source that is unknown or whose files are missing."""


def load_source(spec: str, seed: int = 13) -> list[Document]:
    """Documents for one source spec `name[:option]`:

    news:SPLIT (our stand-off annotations joined with news_raw.jsonl), cluener, fewfc,
    pd[:N] (People's Daily 1998, N sentences sampled), or a path to a canonical JSONL file.
    """
    name, _, opt = spec.partition(":")
    ext = SHARED / "external"
    needs = {"news": SHARED / "news_raw.jsonl", "cluener": ext / "cluener", "fewfc": ext / "fewfc"}
    if name in needs and not needs[name].exists():
        raise DataSourceError(f"source {spec!r} needs {needs[name]}, which is missing (set ZHIE_SHARED_DATA)")
    if name == "news":
        return list(load_standoff(NEWS_ANNOTATIONS, SHARED / "news_raw.jsonl", split=opt or None))
    if name == "cluener":
        return list(read_cluener(ext / "cluener" / "train.json"))
    if name == "fewfc":
        return [d for f in ("train_base.json", "train_trans.json") for d in read_fewfc(ext / "fewfc" / f)]
    if name == "pd":
        docs = list(read_peoples_daily())
        if opt:
            docs = random.Random(seed).sample(docs, min(int(opt), len(docs)))
        return docs
    if Path(spec).exists():
        from zhie.annotation.jsonl import read_documents

        return list(read_documents(spec))
    raise DataSourceError(f"unknown data source {spec!r}: use news:SPLIT, cluener, fewfc, pd[:N] or a .jsonl path")


def tokenise_documents(docs: Iterable[Document], tokenizer, max_len: int = 256) -> list[dict]:
    """Cut each document into windows of at most `max_len` tokens (with [CLS]/[SEP]).

    A token takes the tag of its first character; a window that starts inside an entity starts it
    with B- so every window is valid IOB2 on its own.
    """
    docs = list(docs)
    enc = tokenizer([d.text for d in docs], add_special_tokens=False, return_offsets_mapping=True)
    body = max_len - 2
    out = []
    for d, ids, offs in zip(docs, enc["input_ids"], enc["offset_mapping"]):
        char_tags = to_tags(d)
        tags = [char_tags[s] if e > s else OUTSIDE for s, e in offs]
        for w in range(0, max(len(ids), 1), body):
            wi, wt = ids[w:w + body], tags[w:w + body]
            if not wi:
                continue
            if wt[0].startswith("I-"):
                wt = ["B-" + wt[0][2:]] + wt[1:]
            out.append({
                "input_ids": [tokenizer.cls_token_id] + wi + [tokenizer.sep_token_id],
                "labels": [IGNORE] + [TAG2ID[t] for t in wt] + [IGNORE],
            })
    return out
