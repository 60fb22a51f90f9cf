"""NER training examples as `datasets.Dataset`: documents -> character tags -> token windows with tag ids.

Arrow tables rather than Python lists, so a corpus can outgrow memory and `map` results are cached;
windows come from `zhie.models.windows.make_windows`, the same cut the Extractor uses.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from datasets import Dataset

from zhie.annotation.bio import to_tags
from zhie.annotation.labels import OUTSIDE, TAG2ID
from zhie.annotation.records import Document
from zhie.models.lexicon import VERSION as LEXICON_VERSION, default_lexicon
from zhie.models.tokenizer import encode_texts
from zhie.models.windows import make_windows

IGNORE = -100


def _rows(docs: list[Document]) -> Iterator[dict]:
    for d in docs:
        yield {"id": d.id, "text": d.text, "tags": to_tags(d)}


def documents_dataset(docs: Iterable[Document]) -> Dataset:
    """One row per document: id, text and the IOB2 tag of every character (cached by content)."""
    return Dataset.from_generator(_rows, gen_kwargs={"docs": list(docs)})


def _window_labels(tags: list[str], keep_from: int, keep_to: int, start: int) -> list[int]:
    """Tag ids of one window's tokens; IGNORE outside [keep_from, keep_to). The first scored token of
    a window that starts inside an entity becomes B-, so every window is valid IOB2 on its own."""
    out = []
    for i, tag in enumerate(tags, start):
        if not keep_from <= i < keep_to:
            out.append(IGNORE)
            continue
        if i == max(keep_from, start) and tag.startswith("I-"):
            tag = "B-" + tag[2:]
        out.append(TAG2ID[tag])
    return out


def _tokenise_batch(batch: dict, tokenizer, max_len: int, score_once: bool, lexicon_version: int | None) -> dict:
    enc = encode_texts(tokenizer, batch["text"])
    types = (default_lexicon().token_types(batch["text"], enc["offset_mapping"]) if lexicon_version is not None
             else [None] * len(batch["text"]))
    body = max_len - 2
    out: dict[str, list] = {"input_ids": [], "labels": []} | ({"token_type_ids": []} if lexicon_version is not None else {})
    for ids, offsets, char_tags, tok_types in zip(enc["input_ids"], enc["offset_mapping"], batch["tags"], types):
        tags = [char_tags[s] if e > s else OUTSIDE for s, e in offsets]
        for w in make_windows(len(ids), body, body):
            if w.end == w.start:
                continue
            keep = (w.keep_from, w.keep_to) if score_once else (w.start, w.end)
            out["input_ids"].append([tokenizer.cls_token_id] + ids[w.start:w.end] + [tokenizer.sep_token_id])
            out["labels"].append([IGNORE] + _window_labels(tags[w.start:w.end], *keep, w.start) + [IGNORE])
            if tok_types is not None:
                out["token_type_ids"].append([0] + tok_types[w.start:w.end] + [0])
    return out


def tokenise_documents(docs: Iterable[Document] | Dataset, tokenizer, max_len: int = 256,
                       score_once: bool = False, lexicon: bool = False) -> Dataset:
    """Token windows of at most `max_len` tokens ([CLS]/[SEP] included) with aligned tag ids.

    Windows of max_len - 2 tokens, back to back; the last one ends at the text's end (so it may overlap
    the one before). A token takes the tag of its first character. With `score_once` (evaluation)
    each token is labelled in exactly one window (the Extractor's choice), elsewhere IGNORE.
    With `lexicon`, each window also gets `token_type_ids`: the features zhie.models.lexicon computes
    at inference (the feature version is part of the cache key).
    """
    ds = docs if isinstance(docs, Dataset) else documents_dataset(docs)
    return ds.map(_tokenise_batch, batched=True, remove_columns=ds.column_names,
                  fn_kwargs={"tokenizer": tokenizer, "max_len": max_len, "score_once": score_once,
                             "lexicon_version": LEXICON_VERSION if lexicon else None},
                  desc="tokenising")
