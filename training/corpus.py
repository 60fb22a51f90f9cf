"""Pretraining corpus for the compact Chinese BERT: read, clean, deduplicate, tokenise, pack, compress.

Why this shape:
- The GPU machine has numpy but no jieba, openpyxl or snownlp, so all text work (jieba word boundaries
  for whole-word masking included) happens here, once, and the GPU side only reads integer arrays.
  This module imports nothing heavier than numpy at import time; `training.pretrain` imports the
  format constants and `load_split` from here.
- Format of `{split}.bin.gz` (gzip): two .npy records written back to back, `offsets` (int64, n+1
  sequence starts) then `tokens` (uint16). A token value is `vocab_id | CONT_FLAG` when the token
  continues the previous token's word (jieba word or `##` word piece); vocab ids are < 32768.
  Sequences hold at most MAX_SEQ_TOKENS tokens; [CLS]/[SEP] are added at train time. Sentences of one
  document are packed back to back; a [SEP] separates documents that share a sequence.
- Sources are read in priority order; a paragraph seen before (exact hash after NFKC and whitespace
  removal) is dropped, so the held-out 1% of documents shares no paragraph with the training split.
- Left out: the Debian documentation dump (technical manuals, far from news style), and the labelled
  NER/event sets (FewFC, CLUENER, CFSC-BIO, Resume, Weibo), so that their test texts stay unseen.
  data/news_raw.jsonl (our own articles) is in: MLM sees its text, never its labels.

    python -m zhie.training.corpus [--out .device/corpus] [--sources ...]   # ~4.5 min on 2 cores
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import json
import math
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from zhie.annotation.sources import peoples_daily_path
from zhie.training.paths import SHARED

CONT_FLAG = 0x8000
ID_MASK = 0x7FFF
MAX_SEQ_TOKENS = 254
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = 0, 100, 101, 102, 103
FIRST_REAL_ID = 106  # ids below are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK], <S>, <T>
SPLITS = ("train", "heldout")
STATS_FILE = "stats.json"

DEFAULT_DATA_ROOT = SHARED
DEFAULT_OUT = Path(".device/corpus")

MIN_CHARS = 8
MIN_HAN = 4
MIN_HAN_RATIO = 0.3

Log = Callable[[str], None]


def split_path(corpus_dir: str | Path, split: str) -> Path:
    return Path(corpus_dir) / f"{split}.bin.gz"


def load_split(corpus_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(tokens uint16 with CONT_FLAG bits, offsets int64 of length n_sequences + 1)."""
    with gzip.open(split_path(corpus_dir, split), "rb") as f:
        buf = io.BytesIO(f.read())
    offsets = np.load(buf)
    tokens = np.load(buf)
    return tokens, offsets


def _write_split(path: Path, tokens: np.ndarray, offsets: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
        np.save(f, offsets.astype(np.int64))  # no name or time in the header: same corpus, same bytes
        np.save(f, tokens.astype(np.uint16))
    os.replace(tmp, path)


# ---------------------------------------------------------------- cleaning

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


# ---------------------------------------------------------------- sources


def _json_lines(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _read_news_raw(root: Path) -> Iterator[list[str]]:
    for row in _json_lines(root / "news_raw.jsonl"):
        yield [row["text"]]


_TAG = re.compile(r"<[^>]+>")
_HTML_BREAK = re.compile(r"</p>|<p[^>]*>|<br\s*/?>", re.I)
_MD_LINK_LINE = re.compile(r"^\s*\[[^\]]*\]\([^)]*\)\s*$")
_CCTV_PREFIX = re.compile(r"^\s*央视网消息\s*[（(]\s*新闻联播\s*[)）]\s*[：:]\s*")


def _read_xinwenlianbo(root: Path) -> Iterator[list[str]]:
    """One document per news item of the 详细新闻 section (the summary repeats the item titles)."""
    for path in sorted((root / "external/xinwenlianbo/news").glob("*.md")):
        _, _, detail = path.read_text(encoding="utf-8").partition("## 详细新闻")
        for item in re.split(r"^### ", detail, flags=re.M)[1:]:
            title, _, body = item.partition("\n")
            paragraphs = [title]
            for part in _HTML_BREAK.split(body):
                if _MD_LINK_LINE.match(part):
                    continue
                text = html.unescape(_TAG.sub("", part))
                paragraphs.append(_CCTV_PREFIX.sub("", text))
            yield paragraphs


# task -> (text fields of labelled rows, text fields of problem_list "input" (None: input is the text),
#          whether the text starts with a question ending in "？" to strip)
_FINCUGE_FIELDS: dict[str, tuple[tuple[int, ...], tuple[int, ...] | None, bool]] = {
    "finna": ((0, 1), None, False),
    "finnl": ((0,), None, False),
    "finfe": ((0,), None, False),
    "finne": ((0,), None, False),
    "finese": ((1,), (0,), False),
    "finnsp": ((1, 2), (0, 1), False),
    "finre": ((3,), (2,), False),
    "finqa": ((0,), None, True),
    "fincqa": ((0,), None, True),
}


def _read_fincuge(root: Path) -> Iterator[list[str]]:
    for task, (row_fields, input_fields, has_question) in _FINCUGE_FIELDS.items():
        for path in sorted((root / "external/fincuge" / task).glob("*.json")):
            for row in json.loads(path.read_text(encoding="utf-8")):
                if isinstance(row, dict):
                    texts = [row["input"]] if input_fields is None else [row["input"][i] for i in input_fields]
                else:
                    texts = [row[i] for i in row_fields]
                if has_question:
                    texts = [t.partition("？")[2] or t for t in texts]
                yield [p for t in texts if isinstance(t, str) for p in t.split("###")]


def _xlsx_column(path: Path, column: str) -> list[str]:
    """Text cells of one named column of the first sheet (openpyxl: the `train` extra; not on the GPU machine)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = book.worksheets[0].iter_rows(values_only=True)
    col = list(next(rows)).index(column)
    values = [row[col] for row in rows if isinstance(row[col], str)]
    book.close()
    return values


def _read_smoothnlp(root: Path) -> Iterator[list[str]]:
    folder = root / "external/smoothnlp-financial"
    for name, column in (
        ("SmoothNLP工商数据集样本10K.xlsx", "公司介绍"),
        ("SmoothNLP投资事件数据集样本2k.xlsx", "事件资讯"),
        ("SmoothNLP投资结构数据集样本1k.xlsx", "介绍"),
    ):
        for text in _xlsx_column(folder / name, column):
            yield [text]


def _read_cfsc(root: Path) -> Iterator[list[str]]:
    folder = root / "external/cfsc"
    for row in json.loads((folder / "CFSC-ABSA/json/test.txt").read_text(encoding="utf-8")):
        yield [row["sentence"]]
    for name in ("val.json", "test.json"):
        for row in json.loads((folder / "CFSC-NER/json" / name).read_text(encoding="utf-8")):
            yield [row["text"]]


def _read_wwwxmu(root: Path) -> Iterator[list[str]]:
    folder = root / "external/financial-news-sentiment-wwwxmu"
    with open(folder / "test_data.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield [row["标题"], row["正文"]]
    for title in _xlsx_column(folder / "news_seed.xlsx", "标题"):
        yield [title]


def _read_nlpcc2017(root: Path) -> Iterator[list[str]]:
    with open(root / "external/nlpcc2017-news-headlines/test.char", encoding="utf-8") as f:
        for line in f:
            _, _, chars = line.partition("\t")
            yield ["".join(chars.split())]


def _read_tnews(root: Path) -> Iterator[list[str]]:
    for path in sorted((root / "external/tnews-fewclue").glob("*.json")):
        if path.name.startswith("label_index"):
            continue
        for row in _json_lines(path):
            yield [row["sentence"]]


def _read_thucnews(root: Path) -> Iterator[list[str]]:
    folder = root / "external/thucnews-titles"
    for name, title_col in (("dev.txt", 0), ("test.txt", 0), ("thucnews_train_1w.txt", 1)):
        with open(folder / name, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 2:
                    yield [parts[title_col]]


def _read_cmrc2018(root: Path) -> Iterator[list[str]]:
    for name in ("cmrc2018_dev.json", "cmrc2018_trial.json"):
        data = json.loads((root / "external/cmrc2018" / name).read_text(encoding="utf-8"))["data"]
        for article in data:
            for para in article["paragraphs"]:
                yield [para["context"]]


def _read_peoples_daily(root: Path) -> Iterator[list[str]]:
    """One document per line (article boundaries are not marked); `word/pos` tags stripped."""
    with open(peoples_daily_path(), encoding="utf-8") as f:
        for line in f:
            yield ["".join(tok.rsplit("/", 1)[0] for tok in line.split())]


# Priority order: earlier sources win deduplication; the size cap drops from the end of DROP_ORDER.
SOURCES: dict[str, Callable[[Path], Iterator[list[str]]]] = {
    "news_raw": _read_news_raw,
    "xinwenlianbo": _read_xinwenlianbo,
    "fincuge": _read_fincuge,
    "smoothnlp": _read_smoothnlp,
    "cfsc": _read_cfsc,
    "wwwxmu": _read_wwwxmu,
    "nlpcc2017": _read_nlpcc2017,
    "tnews": _read_tnews,
    "thucnews": _read_thucnews,
    "cmrc2018": _read_cmrc2018,
    "peoples_daily_1998": _read_peoples_daily,
}
DROP_ORDER = ("peoples_daily_1998", "cmrc2018", "thucnews", "tnews", "nlpcc2017")


# ---------------------------------------------------------------- reading + dedup


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


# ---------------------------------------------------------------- tokenisation (worker processes)

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


def build_corpus(
    out_dir: str | Path = DEFAULT_OUT,
    data_root: str | Path = DEFAULT_DATA_ROOT,
    sources: Sequence[str] | None = None,
    workers: int = 2,
    heldout_fraction: float = 0.01,
    max_megabytes: float = 45.0,
    log: Log = print,
) -> dict:
    """Build `{train,heldout}.bin.gz` + stats.json in out_dir; returns the stats.

    When the compressed files exceed max_megabytes, sources are dropped in DROP_ORDER (lowest value
    first) and the split is repacked; the dropped sources are listed in the stats.
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
            _write_split(path, tokens, offsets)
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
        if megabytes <= max_megabytes:
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
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    p.add_argument("--sources", nargs="*", choices=list(SOURCES), help="default: all")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-megabytes", type=float, default=45.0)
    args = p.parse_args(argv)
    build_corpus(args.out, args.data_root, args.sources, args.workers, max_megabytes=args.max_megabytes)


if __name__ == "__main__":
    main()
