"""The packed corpus format shared by the corpus builder (CPU) and pretraining (GPU machine).

`{split}.bin.gz` (gzip): two .npy records written back to back, `offsets` (int64, n+1 sequence
starts) then `tokens` (uint16). A token value is `vocab_id | CONT_FLAG` when the token continues the
previous token's word (jieba word or `##` word piece); vocab ids are < 32768. Sequences hold at most
MAX_SEQ_TOKENS tokens; [CLS]/[SEP] are added at train time. Standard library and numpy only: this
module runs on the GPU machine.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np

CONT_FLAG = 0x8000
ID_MASK = 0x7FFF
MAX_SEQ_TOKENS = 254
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103
FIRST_REAL_ID = 106  # ids below are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK], <S>, <T>
SPLITS = ("train", "heldout")
STATS_FILE = "stats.json"


def split_path(corpus_dir: str | Path, split: str) -> Path:
    return Path(corpus_dir) / f"{split}.bin.gz"


def load_split(corpus_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(tokens uint16 with CONT_FLAG bits, offsets int64 of length n_sequences + 1)."""
    with gzip.open(split_path(corpus_dir, split), "rb") as f:
        buf = io.BytesIO(f.read())
    offsets = np.load(buf)
    tokens = np.load(buf)
    return tokens, offsets


def write_split(path: Path, tokens: np.ndarray, offsets: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
        np.save(f, offsets.astype(np.int64))  # no name or time in the header: same corpus, same bytes
        np.save(f, tokens.astype(np.uint16))
    os.replace(tmp, path)
