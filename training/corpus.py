"""Pretraining corpus for the compact Chinese BERT: read, clean, deduplicate, tokenise, pack, compress.

Why this shape:
- The GPU machine has numpy but no jieba, openpyxl or snownlp, so all text work (jieba word boundaries
  for whole-word masking included) happens here, once, and the GPU side only reads integer arrays
  (`training.corpus_format`).
- Sources (`training.corpus_sources`) are read in priority order; a paragraph seen before (exact hash
  after NFKC and whitespace removal, `training.corpus_clean`) is dropped, so the held-out 1% of
  documents shares no paragraph with the training split. Sentences of one document are packed back to
  back (`training.corpus_tokenise`); a [SEP] separates documents that share a sequence.

    python -m zhie.training.corpus --out DIR [--sources ...] [--max-megabytes MB]   # ~4.5 min on 2 cores
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from zhie.training.corpus_clean import MIN_CHARS, MIN_HAN, MIN_HAN_RATIO, heldout_mask, read_documents
from zhie.training.corpus_format import MAX_SEQ_TOKENS, SPLITS, STATS_FILE, split_path, write_split
from zhie.training.corpus_sources import DROP_ORDER, SOURCES
from zhie.training.corpus_tokenise import pack, tokenize_documents

Log = Callable[[str], None]


def build_corpus(
    out_dir: str | Path,
    data_root: str | Path,
    *,
    sources: Sequence[str] | None = None,
    workers: int = 1,
    heldout_fraction: float = 0.01,
    max_megabytes: float | None = None,
    log: Log = print,
) -> dict:
    """Build `{train,heldout}.bin.gz` + stats.json in out_dir; returns the stats.

    `max_megabytes` caps the compressed files (a transfer limit of the machine that trains, passed in
    by tools/): over it, sources are dropped in DROP_ORDER (lowest value first) and the split is
    repacked; the dropped sources are listed in the stats.
    """
    t_start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(sources) if sources is not None else list(SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {list(SOURCES)}")

    log(f"reading {len(names)} sources from {data_root}")
    docs, stats = read_documents(Path(data_root), names, log)
    held = heldout_mask(docs, heldout_fraction)
    t_read = time.perf_counter()

    log(f"tokenising {len(docs):,} documents with jieba word boundaries ({workers} workers)")
    units = tokenize_documents(docs, workers, log)
    for doc, is_held, doc_units in zip(docs, held, units):
        st = stats[doc.source]
        st.heldout_documents += int(is_held)
        st.tokens[SPLITS[int(is_held)]] += sum(map(len, doc_units))
    t_tok = time.perf_counter()

    dropped: list[str] = []
    while True:
        files: dict[str, dict] = {}
        for split, want_held in zip(SPLITS, (False, True)):
            selected = (u for d, h, u in zip(docs, held, units) if h == want_held and d.source not in dropped)
            tokens, offsets = pack(selected)
            path = split_path(out, split)
            write_split(path, tokens, offsets)
            lengths = np.diff(offsets)
            files[split] = {
                "file": path.name,
                "bytes": path.stat().st_size,
                "sequences": int(len(lengths)),
                "tokens": int(len(tokens)),
                "mean_sequence_tokens": round(float(lengths.mean()), 1) if len(lengths) else 0.0,
                "fill": round(float(lengths.mean()) / MAX_SEQ_TOKENS, 3) if len(lengths) else 0.0,
            }
        megabytes = sum(f["bytes"] for f in files.values()) / 1e6
        log(f"packed: {json.dumps(files)} -> {megabytes:.1f} MB")
        if max_megabytes is None or megabytes <= max_megabytes:
            break
        candidates = [s for s in DROP_ORDER if s in names and s not in dropped]
        if not candidates:
            raise RuntimeError(f"corpus is {megabytes:.1f} MB even without {dropped}")
        dropped.append(candidates[0])
        log(f"over {max_megabytes} MB: dropping {candidates[0]}")

    kept = [n for n in names if n not in dropped]
    result = {
        "format": "gzip of two .npy: offsets int64 (n+1), tokens uint16 (id | 0x8000 if word continues)",
        "max_sequence_tokens": MAX_SEQ_TOKENS,
        "heldout_fraction": heldout_fraction,
        "cleaning": {"min_chars": MIN_CHARS, "min_han": MIN_HAN, "min_han_ratio": MIN_HAN_RATIO},
        "sources": {n: asdict(stats[n]) for n in kept},
        "dropped_for_size": {n: asdict(stats[n]) for n in dropped},
        "excluded": {
            "debian-docs-zh": "technical manuals, far from news style",
            "fewfc, cluener, resume-ner, weibo-ner, cfsc BIO": "labelled NER/event sets kept unseen",
        },
        "totals": {
            "documents": sum(stats[n].documents for n in kept),
            "characters": sum(stats[n].characters for n in kept),
            "han": sum(stats[n].han for n in kept),
        },
        "files": files,
        "megabytes": round(megabytes, 2),
        "seconds": {
            "read_clean_dedup": round(t_read - t_start, 1),
            "tokenise": round(t_tok - t_read, 1),
            "pack_write": round(time.perf_counter() - t_tok, 1),
            "total": round(time.perf_counter() - t_start, 1),
        },
    }
    (out / STATS_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"corpus written to {out} in {result['seconds']['total']:.0f}s")
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Build the corpus alone; options and defaults as `zhie pretrain --build-corpus` (PretrainRunConfig)."""
    import argparse

    from zhie.training.paths import SHARED
    from zhie.training.run_config import PretrainRunConfig

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", help="a pretraining run configuration (.toml/.json); flags override it")
    p.add_argument("--out", help="corpus folder (default: the configuration's `corpus`)")
    p.add_argument("--data-root", help="raw text sources (default: ../shared/data or $ZHIE_SHARED_DATA)")
    p.add_argument("--sources", nargs="*", choices=list(SOURCES), help="default: all")
    p.add_argument("--workers", type=int)
    p.add_argument("--max-megabytes", type=float, help="cap on the compressed files (default: none)")
    a = p.parse_args(argv)
    cfg = PretrainRunConfig.load(a.config, corpus=a.out, data_root=a.data_root, source=a.sources,
                                 workers=a.workers, corpus_max_megabytes=a.max_megabytes)
    build_corpus(cfg.corpus, cfg.data_root or SHARED, sources=cfg.source, workers=cfg.workers,
                 max_megabytes=cfg.corpus_max_megabytes)


if __name__ == "__main__":
    main()
