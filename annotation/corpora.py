"""Readers for the public corpora used as silver NER data, each mapped onto our label set.

Every reader yields canonical Documents. Where a corpus has no MONEY/DATE labels, the high-precision
patterns of annotation.patterns fill them in (never over an existing span).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from zhie.annotation.patterns import find_spans
from zhie.annotation.records import Document, Entity
from zhie.annotation.sources import peoples_daily_path

HEDGES = "约近超逾达"


def _document(doc_id: str, text: str, spans: Iterable[tuple[int, int, str]], fill_patterns: bool) -> Document:
    """Build a record from possibly overlapping spans: longer spans win, patterns fill the gaps."""
    chosen: list[tuple[int, int, str]] = []
    taken = [False] * len(text)
    ordered = sorted(set(spans), key=lambda s: (-(s[1] - s[0]), s[0]))
    if fill_patterns:
        ordered += find_spans(text)
    for s, e, lab in ordered:
        if 0 <= s < e <= len(text) and not any(taken[s:e]):
            chosen.append((s, e, lab))
            for i in range(s, e):
                taken[i] = True
    chosen.sort()
    ents = [Entity(id=f"e{n}", start=s, end=e, label=lab, text=text[s:e]) for n, (s, e, lab) in enumerate(chosen, 1)]
    return Document(id=doc_id, text=text, entities=ents)


CLUENER_MAP = {"company": "ORG", "government": "ORG", "organization": "ORG", "address": "LOC", "scene": "LOC"}


def read_cluener(path: Path, fill_patterns: bool = True) -> Iterator[Document]:
    """CLUENER2020 (end offsets inclusive); names, positions and titles are not our labels.
    `fill_patterns=False` gives the corpus's own spans only (to score against, not to train on)."""
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        r = json.loads(line)
        spans = [(s, e + 1, CLUENER_MAP[typ]) for typ, ments in r.get("label", {}).items() if typ in CLUENER_MAP
                 for places in ments.values() for s, e in places]
        yield _document(f"cluener-{path.stem}-{n}", r["text"], spans, fill_patterns)


FEWFC_MAP = {"sub-org": "ORG", "obj-org": "ORG", "target-company": "ORG", "institution": "ORG",
             "money": "MONEY", "date": "DATE"}


def read_fewfc(path: Path) -> Iterator[Document]:
    """FewFC financial events: organisation, money and date arguments (hedge words trimmed off money)."""
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        text = r["content"]
        spans = []
        for ev in r.get("events", []):
            for m in ev.get("mentions", []):
                lab = FEWFC_MAP.get(m["role"])
                if lab is None:
                    continue
                s, e = m["span"]
                while lab == "MONEY" and s < e and text[s] in HEDGES:
                    s += 1
                spans.append((s, e, lab))
        yield _document(f"fewfc-{r['id']}", text, spans, fill_patterns=True)


_PD_TOKEN = re.compile(r"(\S+?)/([a-zA-Z]+)")
_ORG_SUFFIX = re.compile(r"^(政府|委员会|人大|政协|党委|市委|省委|县委|区委|大学|学院|公司|银行|集团|局|厅|部|委|院|所|办)")
PD_MAP = {"ns": "LOC", "t": "DATE", "nt": "ORG"}


def read_peoples_daily(path: Path | None = None, fill_patterns: bool = True) -> Iterator[Document]:
    """People's Daily 1998: consecutive ns → one LOC (a hierarchy), t → DATE, nt → ORG, money by pattern.

    Its compound organisation names are flattened ("X市/ns 政府/n"), which would teach "X市" as LOC
    where the guide wants "X市政府" as ORG: sentences with a place followed by an organisational word
    are skipped rather than taught wrongly.
    """
    path = path or peoples_daily_path()
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        toks = _PD_TOKEN.findall(line.strip())
        if not toks:
            continue
        if any(pos == "ns" and i + 1 < len(toks) and _ORG_SUFFIX.match(toks[i + 1][0])
               for i, (_, pos) in enumerate(toks)):
            continue
        text, spans, pos_at = "", [], 0
        prev = None
        for word, pos in toks:
            lab = PD_MAP.get(pos)
            s, e = len(text), len(text) + len(word)
            if lab is not None and prev is not None and prev[2] == lab and prev[1] == s and lab != "ORG":
                prev[1] = e
            elif lab is not None:
                prev = [s, e, lab]
                spans.append(prev)
            else:
                prev = None
            text += word
            pos_at = e
        if pos_at:
            yield _document(f"pd1998-{n}", text, [tuple(s) for s in spans], fill_patterns)
