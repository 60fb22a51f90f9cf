"""Tokenisation with jieba word-continuation flags (worker processes) and greedy packing into sequences."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from zhie.training.corpus_clean import Document, split_sentences
from zhie.training.corpus_format import CONT_FLAG, MAX_SEQ_TOKENS, SEP_ID

Log = Callable[[str], None]

_BACKEND = None
_SUBWORD: np.ndarray | None = None


def _init_worker() -> None:
    global _BACKEND, _SUBWORD
    from zhie.models.tokenizer import tokenizer_from_vocab

    tok = tokenizer_from_vocab()
    _BACKEND = tok.backend_tokenizer
    vocab = tok.get_vocab()
    _SUBWORD = np.zeros(len(vocab), dtype=bool)
    _SUBWORD[[i for t, i in vocab.items() if t.startswith("##")]] = True


def _split_long(values: np.ndarray, max_tokens: int) -> list[np.ndarray]:
    """Cut a sentence longer than max_tokens before the last word start that fits."""
    pieces = []
    start = 0
    while len(values) - start > max_tokens:
        window = values[start + 1 : start + max_tokens + 1]
        starts = np.flatnonzero((window & CONT_FLAG) == 0)
        cut = start + 1 + int(starts[-1]) if len(starts) else start + max_tokens
        pieces.append(values[start:cut])
        start = cut
    pieces.append(values[start:])
    return pieces


def encode_documents(
    docs: Sequence[Sequence[str]], max_tokens: int = MAX_SEQ_TOKENS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokenise documents (lists of paragraphs) with jieba word-continuation flags.

    Returns (flat uint16 values, tokens per unit, units per document); a unit is a sentence, or a
    word-aligned piece of one when it exceeds max_tokens. Needs `_init_worker()` in this process.
    """
    import jieba

    assert _BACKEND is not None and _SUBWORD is not None
    sentences: list[str] = []
    sent_per_doc = np.zeros(len(docs), dtype=np.int64)
    for d, paragraphs in enumerate(docs):
        for para in paragraphs:
            parts = [s for s in split_sentences(para) if s.strip()]
            sentences.extend(parts)
            sent_per_doc[d] += len(parts)
    encodings = _BACKEND.encode_batch(sentences, add_special_tokens=False)
    word_lens = [len(w) for s in sentences for w in jieba.cut(s)]
    sent_lens = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    if sum(word_lens) != int(sent_lens.sum()):
        raise RuntimeError("jieba did not return the text it was given")
    char_word = np.repeat(np.arange(len(word_lens), dtype=np.int64), word_lens)
    char_base = np.concatenate([[0], np.cumsum(sent_lens)[:-1]])
    ntok = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64, count=int(ntok.sum()))
    starts = np.fromiter((o[0] for e in encodings for o in e.offsets), dtype=np.int64, count=len(ids))
    word = char_word[np.minimum(starts + np.repeat(char_base, ntok), len(char_word) - 1)]
    cont = np.zeros(len(ids), dtype=bool)
    cont[1:] = word[1:] == word[:-1]
    cont |= _SUBWORD[ids]
    sent_start = np.concatenate([[0], np.cumsum(ntok)[:-1]])
    cont[sent_start[ntok > 0]] = False
    values = (ids | (cont.astype(np.int64) << 15)).astype(np.uint16)

    flat: list[np.ndarray] = []
    unit_lens: list[int] = []
    units_per_doc = np.zeros(len(docs), dtype=np.int64)
    doc_of_sent = np.repeat(np.arange(len(docs)), sent_per_doc)
    for s, (a, n) in enumerate(zip(sent_start.tolist(), ntok.tolist())):
        if n == 0:
            continue
        for piece in _split_long(values[a : a + n], max_tokens):
            flat.append(piece)
            unit_lens.append(len(piece))
            units_per_doc[doc_of_sent[s]] += 1
    flat_values = np.concatenate(flat) if flat else np.zeros(0, dtype=np.uint16)
    return flat_values, np.array(unit_lens, dtype=np.int64), units_per_doc


def _chunks(docs: Sequence[Document], max_chars: int) -> list[list[list[str]]]:
    out: list[list[list[str]]] = [[]]
    size = 0
    for d in docs:
        if size >= max_chars:
            out.append([])
            size = 0
        out[-1].append(d.paragraphs)
        size += sum(map(len, d.paragraphs))
    return out


def tokenize_documents(docs: Sequence[Document], workers: int, log: Log) -> list[list[np.ndarray]]:
    """Units (uint16 arrays) per document, in document order; jieba + tokenizer in `workers` processes."""
    import multiprocessing as mp

    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()  # loaded once here, shared with the forked workers
    chunks = _chunks(docs, max_chars=100_000)
    total_chars = sum(sum(map(len, d.paragraphs)) for d in docs)
    result: list[list[np.ndarray]] = []
    t0 = last = time.perf_counter()
    done_chars = 0
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    with mp.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        for chunk, (flat, unit_lens, units_per_doc) in zip(chunks, pool.imap(encode_documents, chunks)):
            units = np.split(flat, np.cumsum(unit_lens)[:-1]) if len(unit_lens) else []
            bounds = np.concatenate([[0], np.cumsum(units_per_doc)])
            result.extend(units[bounds[i] : bounds[i + 1]] for i in range(len(chunk)))
            done_chars += sum(sum(map(len, p)) for p in chunk)
            now = time.perf_counter()
            if now - last > 15 or done_chars == total_chars:
                rate = done_chars / (now - t0)
                log(
                    f"  tokenised {done_chars / total_chars:6.1%} of {total_chars:,} chars, "
                    f"{rate / 1000:.0f}k chars/s, eta {(total_chars - done_chars) / rate:.0f}s"
                )
                last = now
    return result


# ---------------------------------------------------------------- packing + writing


def pack(doc_units: Iterator[list[np.ndarray]], max_tokens: int = MAX_SEQ_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """Greedy packing of whole units into sequences of <= max_tokens; [SEP] between documents."""
    sep = np.array([SEP_ID], dtype=np.uint16)
    pieces: list[np.ndarray] = []
    offsets = [0]
    total = seq_start = 0
    for units in doc_units:
        new_doc = True
        for unit in units:
            need_sep = new_doc and total > seq_start
            if total - seq_start + need_sep + len(unit) > max_tokens:
                offsets.append(total)
                seq_start = total
                need_sep = False
            if need_sep:
                pieces.append(sep)
                total += 1
            pieces.append(unit)
            total += len(unit)
            new_doc = False
    if total > seq_start:
        offsets.append(total)
    tokens = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint16)
    return tokens, np.array(offsets, dtype=np.int64)
