"""Word and lexicon features for the NER encoder, carried in BERT's token-type embeddings.

Each character gets its place in a jieba word (B/M/E/S) and the word's gazetteer class (a place or an
organisation name, or neither); the pair is one of `NUM_TYPES` ids fed as `token_type_ids`, so the
feature embedding is summed into the input embeddings and a saved model stays a plain
`BertForTokenClassification` (`type_vocab_size = NUM_TYPES`) that `AutoModel*` loads on its own.
The lexicons ship inside installed packages (jieba's dictionary: words tagged ns/nt; jionlp's
administrative divisions: full names and short aliases), so users need no download and the repository
holds no copied word list. Traditional text is read as Simplified (the lexicons are Simplified:
zhie.models.simplified, one character for one, which keeps every offset).
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedConfig, PreTrainedModel

from zhie.models.package_data import package_file
from zhie.models.simplified import to_simplified

CONFIG_KEY = "zhie_lexicon"  # in a model's config.json: this model reads lexicon features
VERSION = 1  # bump when the features change: a model trained on one version needs the same at inference
SEGMENT_TAGS = "BMES"
CLASSES = ("none", "LOC", "ORG")
NUM_TYPES = 1 + len(SEGMENT_TAGS) * len(CLASSES)  # id 0: no feature ([CLS], [SEP], padding, unaligned)
NEW_WORD_FREQ = 2000  # jieba frequency of a gazetteer name missing from its dictionary: cut out whole
MAX_TOWN_TABS = 3  # jionlp's divisions down to towns/streets (tab depth 3); villages are too ambiguous

_LOCK = threading.RLock()


@functools.cache
def jionlp() -> Any:
    """Import jionlp once, keeping its import banner off stdout (callers may be writing JSONL there)."""
    with _LOCK, contextlib.redirect_stdout(io.StringIO()):
        import jionlp as module
    return module


def jieba_words(tags: set[str]) -> dict[str, set[str]]:
    """jieba's dictionary words (2+ characters) by part-of-speech tag, for the tags asked for."""
    out: dict[str, set[str]] = {t: set() for t in tags}
    with package_file("jieba", "dict.txt").open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] in out and len(parts[0]) >= 2:
                out[parts[2]].add(parts[0])
    return out


def division_names() -> set[str]:
    """jionlp's administrative divisions (province to town/street): full names and short aliases."""
    names: set[str] = set()
    jionlp()  # a fresh install ships the file zipped: importing jionlp unpacks it
    with package_file("jionlp", "dictionary/china_location.txt").open(encoding="utf-8") as f:
        for line in f:
            depth = len(line) - len(line.lstrip("\t"))
            if depth > MAX_TOWN_TABS:
                continue
            fields = line.strip().split("\t")
            names.update(n for n in (fields[0], fields[2] if len(fields) == 3 else "") if len(n) >= 2)
    return names


class Lexicon:
    """Segments text with jieba (gazetteer names added as words) and tags each character."""

    def __init__(self, places: set[str], orgs: set[str]) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" banner on every load
        self.places, self.orgs = places, orgs
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for word in places | orgs:
            if word not in self._jieba.FREQ or not self._jieba.FREQ[word]:
                self._jieba.add_word(word, NEW_WORD_FREQ)

    @classmethod
    def from_packages(cls) -> "Lexicon":
        words = jieba_words({"ns", "nt"})
        orgs = words["nt"]
        return cls(places=(words["ns"] | division_names()) - orgs, orgs=orgs)

    def word_class(self, word: str) -> int:
        return 1 if word in self.places else 2 if word in self.orgs else 0

    def char_types(self, text: str) -> np.ndarray:
        """One type id (1..NUM_TYPES-1) per character of `text`."""
        simple = to_simplified(text)
        out = np.zeros(len(text), dtype=np.int64)
        pos = 0
        for word in self._jieba.cut(simple):
            n = len(word)
            base = 1 + self.word_class(word) * len(SEGMENT_TAGS)
            if n == 1:
                out[pos] = base + 3
            else:
                out[pos] = base
                out[pos + 1:pos + n - 1] = base + 1
                out[pos + n - 1] = base + 2
            pos += n
        return out

    def token_types(self, texts: Sequence[str], offsets: Sequence[Sequence[tuple[int, int]]]) -> list[list[int]]:
        """Per text, the type id of each token: its first character's (0 for a token with no characters)."""
        out = []
        for text, offs in zip(texts, offsets, strict=True):
            chars = self.char_types(text)
            out.append([int(chars[s]) if e > s else 0 for s, e in offs])
        return out


@functools.cache
def default_lexicon() -> Lexicon:
    """The package lexicons, built once per process (~2 s)."""
    return Lexicon.from_packages()


def uses_lexicon(config: PreTrainedConfig) -> bool:
    """True for a model trained with lexicon features; refuses a feature version this code cannot build."""
    value = getattr(config, CONFIG_KEY, None)
    if value is None:
        return False
    if int(value.get("version", 0)) != VERSION:
        raise ValueError(f"model uses lexicon features version {value.get('version')}; this zhie builds {VERSION}")
    return True


def add_lexicon_types(model: PreTrainedModel) -> None:
    """Give `model` NUM_TYPES token-type rows, each a copy of row 0 (type 0 is what the model was trained
    with), so its predictions are unchanged until training teaches the rows apart."""
    emb = model.bert.embeddings.token_type_embeddings
    rows = emb.weight.data[:1].repeat(NUM_TYPES, 1)
    new = torch.nn.Embedding(NUM_TYPES, emb.embedding_dim)
    new.weight.data.copy_(rows)
    model.bert.embeddings.token_type_embeddings = new
    model.config.type_vocab_size = NUM_TYPES
    setattr(model.config, CONFIG_KEY, {"version": VERSION, "segment_tags": SEGMENT_TAGS, "classes": list(CLASSES)})
