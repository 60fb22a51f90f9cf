"""Split long token sequences into overlapping windows and merge per-token predictions back."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np


@dataclass(frozen=True)
class Window:
    """Tokens [start, end) of one text; `keep_from`/`keep_to` is the part whose predictions we trust."""

    start: int
    end: int
    keep_from: int
    keep_to: int


def make_windows(n_tokens: int, size: int, stride: int) -> list[Window]:
    """Windows of `size` tokens advancing by `stride`; each token is kept from the window where it
    sits furthest from an edge, so every token gets context on both sides where the text allows."""
    if n_tokens <= size:
        return [Window(0, n_tokens, 0, n_tokens)]
    starts = list(range(0, n_tokens - size, stride)) + [n_tokens - size]
    wins = []
    for i, s in enumerate(starts):
        e = s + size
        lo = 0 if i == 0 else (s + (starts[i - 1] + size)) // 2
        hi = n_tokens if i == len(starts) - 1 else (e + starts[i + 1]) // 2
        wins.append(Window(s, e, lo, hi))
    return wins


def run_windows(ids_per_text: Sequence[Sequence[int]],
                run: Callable[[np.ndarray, np.ndarray, np.ndarray | None], Sequence],
                widths: Sequence[int], window: int, stride: int, batch_size: int, cls_id: int, sep_id: int,
                pad_id: int, types_per_text: Sequence[Sequence[int]] | None = None,
                share_calls: bool = True) -> list[list[np.ndarray]]:
    """Per-token outputs of `run` for whole texts: every text cut into windows ([CLS] window [SEP]),
    windows of all texts batched by length, each token's rows taken from the window that trusts it.
    With `share_calls=False` a call holds windows of one text only (at most `batch_size`), for a `run`
    whose outputs for one window depend on the others of its call.

    `run(input_ids, attention_mask, token_type_ids)` returns arrays of shape (batch, width, widths[k])
    (or None for an output not computed); the result holds, per text, one (tokens, widths[k]) array per
    output. `token_type_ids` is None unless `types_per_text` gives one type id per token (0 at [CLS],
    [SEP] and padding): a lexicon model's features (zhie.models.lexicon).
    """
    result = [[np.zeros((len(ids), w), dtype=np.float32) for w in widths] for ids in ids_per_text]
    jobs = [(i, w) for i, ids in enumerate(ids_per_text) if len(ids) for w in make_windows(len(ids), window, stride)]
    if share_calls:
        jobs.sort(key=lambda j: j[1].end - j[1].start)  # similar lengths share a batch: less padding
        groups = [jobs]
    else:
        groups = [list(g) for _, g in groupby(jobs, key=lambda j: j[0])]
    for batch in (g[b:b + batch_size] for g in groups for b in range(0, len(g), batch_size)):
        seqs = [[cls_id, *ids_per_text[i][w.start:w.end], sep_id] for i, w in batch]
        width = max(len(s) for s in seqs)
        input_ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        types = None if types_per_text is None else np.zeros((len(seqs), width), dtype=np.int64)
        for r, s in enumerate(seqs):
            input_ids[r, :len(s)] = s
            mask[r, :len(s)] = 1
            if types is not None:
                i, w = batch[r]
                types[r, 1:len(s) - 1] = types_per_text[i][w.start:w.end]
        outputs = run(input_ids, mask, types)
        for r, (i, w) in enumerate(batch):
            lo, hi = w.keep_from - w.start, w.keep_to - w.start
            for k, out in enumerate(outputs):
                if out is not None:
                    result[i][k][w.keep_from:w.keep_to] = out[r, 1 + lo:1 + hi]
    return result
