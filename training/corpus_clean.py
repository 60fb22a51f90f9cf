"""Cleaning and deduplication of raw paragraphs, and the deterministic held-out choice."""

from __future__ import annotations

import hashlib
import math
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zhie.training.corpus_format import SPLITS
from zhie.training.corpus_sources import SOURCES

MIN_CHARS = 8
MIN_HAN = 4
MIN_HAN_RATIO = 0.3

Log = Callable[[str], None]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+")
_QMARKS = re.compile(r"\?{3,}")  # emoji lost to '?' in forum posts
_INVISIBLE = re.compile(r"[\u200b-\u200f\ufeff]")
_SPACES = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^。！？!?；;…]+(?:[。！？!?；;…]+[”’」』\"')）]*)?|[。！？!?；;…]+[”’」』\"')）]*")


def han_count(text: str) -> int:
    """CJK ideographs (U+3400–4DBF, U+4E00–9FFF), the unit SOURCES.md reports sizes in."""
    return len(_HAN.findall(text))


def clean_paragraph(text: str) -> str | None:
    """Whitespace-normalised paragraph, or None when it is too short, mostly non-Chinese, or number-masked."""
    if "<N>" in text:  # FinRE masks numbers as <N>: broken sentences for MLM
        return None
    text = _INVISIBLE.sub("", _QMARKS.sub("", _URL.sub("", text)))
    text = _SPACES.sub(" ", text).strip()
    han = han_count(text)
    if len(text) < MIN_CHARS or han < MIN_HAN or han < MIN_HAN_RATIO * len(text.replace(" ", "")):
        return None
    return text


def paragraph_key(text: str) -> bytes:
    """Dedup key: NFKC (full/half width alike) with all whitespace removed."""
    norm = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest()


def split_sentences(text: str) -> list[str]:
    """Sentences ending in 。！？；… (plus closing quotes): the units that packing never cuts."""
    return [m.group() for m in _SENTENCE.finditer(text)]


@dataclass
class SourceStats:
    documents: int = 0
    paragraphs: int = 0
    characters: int = 0
    han: int = 0
    dropped_short: int = 0
    dropped_duplicate: int = 0
    heldout_documents: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SPLITS})


@dataclass
class Document:
    source: str
    paragraphs: list[str]


def read_documents(data_root: Path, sources: Sequence[str], log: Log) -> tuple[list[Document], dict[str, SourceStats]]:
    """Clean and deduplicate every source, in priority order."""
    seen: set[bytes] = set()
    docs: list[Document] = []
    stats: dict[str, SourceStats] = {}
    for name in sources:
        t0 = time.perf_counter()
        st = stats[name] = SourceStats()
        for raw in SOURCES[name](data_root):
            kept: list[str] = []
            for line in (ln for text in raw for ln in text.split("\n")):
                if not line.strip():
                    continue
                para = clean_paragraph(line)
                if para is None:
                    st.dropped_short += 1
                    continue
                key = paragraph_key(para)
                if key in seen:
                    st.dropped_duplicate += 1
                    continue
                seen.add(key)
                kept.append(para)
            if kept:
                docs.append(Document(name, kept))
                st.documents += 1
                st.paragraphs += len(kept)
                st.characters += sum(map(len, kept))
                st.han += sum(map(han_count, kept))
        log(
            f"  {name:<20} {st.documents:>8,} docs {st.characters:>12,} chars {st.han:>12,} Han "
            f"(dropped {st.dropped_short:,} short/noisy, {st.dropped_duplicate:,} duplicate) "
            f"{time.perf_counter() - t0:.1f}s"
        )
    return docs, stats


def heldout_mask(docs: Sequence[Document], fraction: float) -> np.ndarray:
    """The ceil(fraction * n) documents with the smallest content hash: deterministic and order-free."""
    keys = np.array(
        [int.from_bytes(paragraph_key(d.source + "\n" + d.paragraphs[0]), "big") >> 1 for d in docs], dtype=np.int64
    )
    n_held = min(len(docs) - 1, max(1, math.ceil(fraction * len(docs)))) if len(docs) > 1 else 0
    mask = np.zeros(len(docs), dtype=bool)
    mask[np.argsort(keys, kind="stable")[:n_held]] = True
    return mask
