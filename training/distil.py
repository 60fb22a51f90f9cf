"""Distil the NER model into a smaller, faster student: teacher soft labels on unlabelled news text
(computed once, cached on disk) + the gold tags of the annotated train split -> a compact BERT.

Why it looks like this:
- The teacher's per-token tag distribution carries more than its arg-max ("this could be ORG or
  LOC"), and it can be computed for any text: a few million characters of news and finance prose
  teach the student far more than the 807 annotated articles alone. The gold tags stay in the mix so
  the student also learns where the teacher is wrong.
- A CRF teacher decides over whole tag paths, so its per-token distributions can be flat where its
  decoded spans are not: `kd_target="path"` teaches the student the tags the teacher's own Viterbi pass
  decodes (sequence-level distillation), computed per batch from the same cached logits.
- Soft labels are the teacher's logits on exactly the windows the student trains on (≤254 tokens,
  cut like the NER training windows), stored as float16 in Arrow shards: a second run, or a run
  resumed after a crash mid-labelling, reuses every shard already written.
- Dev and test texts never reach the student: the dev/test splits are not accepted as data, and
  an external paragraph sharing a long stretch with any dev/test text is dropped.
- Training is a Trainer run (AdamW, linear schedule, a checkpoint every few minutes, `resume`);
  evaluation needs the inference pipeline, which this package may not import: the caller passes a
  `predict` function (the CLI passes the Extractor's).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import time
import unicodedata
from collections import Counter
from dataclasses import asdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from datasets import Array2D, Dataset, Features, Sequence as ArrowSequence, Value, concatenate_datasets, load_from_disk
from pydantic import NonNegativeInt, field_validator
from transformers import (BertConfig, PreTrainedModel, PrinterCallback, Trainer, TrainerCallback, TrainingArguments,
                          set_seed)
from transformers.trainer_pt_utils import LengthGroupedSampler

from zhie.annotation.labels import BIO_TAGS, ENTITY_LABELS
from zhie.annotation.records import Document
from zhie.models.allocator import keep_freed_memory
from zhie.models.crf import CONFIG_KEY as CRF_KEY, Transitions, viterbi_batch
from zhie.models.lexicon import CONFIG_KEY as LEXICON_KEY, default_lexicon, uses_lexicon
from zhie.models.ner import build_ner_model, crf_transitions, load_ner_model
from zhie.models.tokenizer import encode_texts, load_tokenizer
from zhie.training.corpus_clean import clean_paragraph, paragraph_key
from zhie.training.corpus_sources import SOURCES
from zhie.training.data import IGNORE, tokenise_documents
from zhie.training.data_specs import DataSourceError, load_source, news_splits, parse_spec
from zhie.training.metrics import evaluate_documents
from zhie.training.paths import REPO, SHARED
from zhie.training.progress import Progress, SaveEvery, last_checkpoint
from zhie.training.prune import CALIBRATION_WINDOWS, calibration_batches, importance, prune
from zhie.training.run_config import DevSource, RunConfig
from zhie.training.schedule import PROVISIONAL_WARMUP, LinearSchedule
from zhie.training.train_ner import _LENGTH_GROUPING
from zhie.training.train_re import export_fp16

DEFAULT_TEACHER = REPO / "models" / "weights" / "ner"
SHARD_WINDOWS = 1024  # teacher labels are written (and resumed) in shards of this many windows
WINDOWS_META = "distil_windows.json"  # beside saved windows: their content key and text statistics
# Saved windows in the narrowest types that hold them (ids < 32,768, tags and lexicon types < 128): a
# third of the default int64 lists, so that millions of tokens travel to an accelerator machine.
COMPACT_WINDOWS = Features({"input_ids": ArrowSequence(Value("int16")), "labels": ArrowSequence(Value("int8")),
                            "token_type_ids": ArrowSequence(Value("int8")), "gold": Value("bool")})
Predict = Callable[[Path, Sequence[Document]], list[Document]]


class DistilRunConfig(RunConfig):
    """`zhie train distil`: a 4-layer, hidden-256 student of the bundled NER model by default."""

    output: Path = Path("runs/distil")
    teacher: Path | None = None  # None: the bundled NER model (models/weights/ner)
    teacher_int8: bool = False  # label with the teacher's dynamic-int8 copy: ~2x faster on CPU, near-identical labels
    data: list[str] = ["news:train"]  # gold-tagged documents: their text is distilled, their tags add cross-entropy
    dev: DevSource = "news:dev"  # None: no dev report
    data_root: Path | None = None  # external prose; None: ../shared/data beside the checkout, or $ZHIE_SHARED_DATA
    external_sources: list[str] = ["xinwenlianbo", "fincuge", "smoothnlp", "cfsc", "wwwxmu"]  # news/finance prose
    external_chars: int = 3_000_000  # cap on unlabelled characters, shared evenly between the sources
    student_layers: int = 4
    student_hidden: int = 256
    student_heads: int | None = None  # None: hidden / 64
    student_intermediate: int | None = None  # None: 4 x hidden
    prune_from: Path | None = None  # start the student as this NER model width-pruned to its size (training/prune.py)
    unlabelled_windows: NonNegativeInt | None = None  # at most this many unlabelled windows (a seeded sample): a CPU-sized run
    kd_target: Literal["soft", "path"] = "soft"  # soft: KL to the teacher's tag distributions; path: its decoded tags
    temperature: float = 2.0  # of the soft target only
    gold_weight: float = 1.0  # weight of the cross-entropy on gold tags beside the distillation loss
    gold_repeat: int = 2  # gold-tagged windows appear this many times per epoch
    epochs: float = 3.0  # with max_minutes: the most the run may do
    max_steps: int | None = None  # overrides epochs when given
    batch_size: int = 32
    lr: float = 3e-4
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    max_len: int = 256  # [CLS] + at most 254 tokens + [SEP]
    label_batch_size: int = 32
    threads: int | None = None  # torch CPU threads; None: torch's default
    seed: int = 13
    resume: bool = False
    max_minutes: float | None = None  # training budget, the LR schedule planned to end with it (labelling not counted)
    save_minutes: float = 4.0
    logging_steps: int = 25
    export_fp16: Path | None = None  # also write an fp16 copy (model, tokenizer, reports) here
    windows_only: bool = False  # build the training windows, save them in OUTPUT/windows and stop
    windows: Path | None = None  # train on windows saved by a `windows_only` run: no corpora, jieba or jionlp needed
    dataloader_workers: int = 0  # processes padding batches beside training (worth it on an accelerator)

    @field_validator("data")
    @classmethod
    def _no_held_out_text(cls, specs: list[str]) -> list[str]:
        for spec in specs:
            parsed = parse_spec(spec)
            if parsed.name == "news" and parsed.option != "train":
                raise ValueError(f"{spec!r}: only the train split may be distilled (dev/test texts stay unseen)")
        return specs

    @field_validator("external_sources")
    @classmethod
    def _known_sources(cls, names: list[str]) -> list[str]:
        unknown = sorted(set(names) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {sorted(SOURCES)}")
        return names


# ---------------------------------------------------------------- unlabelled text


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


class HeldOutGuard:
    """Says whether a text shares a stretch of 31+ characters with any held-out text (NFKC, spaces
    removed): every 24-character piece of the held-out texts is indexed, probes step by 8."""

    SIZE, STEP = 24, 8

    def __init__(self, texts: Sequence[str]) -> None:
        self.pieces = {t[i:i + self.SIZE] for t in map(_squash, texts) for i in range(len(t) - self.SIZE + 1)}

    def __call__(self, text: str) -> bool:
        t = _squash(text)
        return any(t[i:i + self.SIZE] in self.pieces for i in range(0, len(t) - self.SIZE + 1, self.STEP))


def held_out_texts(log: Callable[[str], None] = print) -> list[str]:
    """Texts of every annotated split but train (dev, test): what distillation must never see.
    Without the raw news file there are none on this machine to guard against (said in the log)."""
    try:
        return [d.text for split in news_splits() if split != "train" for d in load_source(f"news:{split}")]
    except DataSourceError as exc:
        log(f"[distil] no dev/test texts to keep out ({exc})")
        return []


def _documents(root: Path, name: str, guard: HeldOutGuard, seen: set[bytes], dropped: Counter) -> Iterator[str]:
    """A source's documents as cleaned, deduplicated paragraphs joined by newlines."""
    for raw in SOURCES[name](root):
        paragraphs = []
        for line in (ln for text in raw for ln in text.split("\n") if ln.strip()):
            para = clean_paragraph(line)
            if para is None:
                continue
            if guard(para):
                dropped["held_out_overlap"] += 1
                continue
            key = paragraph_key(para)
            if key not in seen:
                seen.add(key)
                paragraphs.append(para)
        if paragraphs:
            yield "\n".join(paragraphs)


def external_texts(root: Path, sources: Sequence[str], max_chars: int, guard: HeldOutGuard,
                   log: Callable[[str], None] = print) -> tuple[list[str], dict]:
    """Up to `max_chars` characters of prose, evenly shared: the next document always comes from the
    source with the fewest characters taken so far (a source that runs out leaves its share to the rest)."""
    seen: set[bytes] = set()
    dropped: Counter = Counter()
    streams = {name: _documents(root, name, guard, seen, dropped) for name in sources}
    taken = Counter({name: 0 for name in sources})
    texts: list[str] = []
    t0 = time.time()
    while streams and sum(taken.values()) < max_chars:
        name = min(streams, key=lambda n: taken[n])
        text = next(streams[name], None)
        if text is None:
            del streams[name]
            continue
        texts.append(text)
        taken[name] += len(text)
    log(f"[distil] external text: {sum(taken.values()):,} chars in {len(texts):,} documents {dict(taken)}; "
        f"{dropped['held_out_overlap']} paragraphs dropped for overlapping dev/test ({time.time() - t0:.0f}s)")
    return texts, {"characters": dict(taken), "documents": len(texts),
                   "dropped_held_out_overlap": dropped["held_out_overlap"]}


def _window_batch(batch: dict, tokenizer, max_len: int, lexicon: bool) -> dict:
    """Untagged texts -> back-to-back windows of at most max_len - 2 tokens (labels all IGNORE). Unlike
    the gold windows, the last one does not overlap the one before: no token is labelled twice.
    With `lexicon`, the windows carry a lexicon teacher's token types as the gold windows do."""
    body = max_len - 2
    enc = encode_texts(tokenizer, batch["text"], offsets=lexicon)
    types = (default_lexicon().token_types(batch["text"], enc["offset_mapping"]) if lexicon
             else [None] * len(batch["text"]))
    out: dict[str, list] = {"input_ids": [], "labels": []} | ({"token_type_ids": []} if lexicon else {})
    for ids, tok_types in zip(enc["input_ids"], types):
        for start in range(0, len(ids), body):
            piece = ids[start:start + body]
            out["input_ids"].append([tokenizer.cls_token_id] + piece + [tokenizer.sep_token_id])
            out["labels"].append([IGNORE] * (len(piece) + 2))
            if tok_types is not None:
                out["token_type_ids"].append([0] + tok_types[start:start + body] + [0])
    return out


def build_windows(train_docs: Sequence[Document], cfg: DistilRunConfig, tokenizer, lexicon: bool, cache: Path,
                  log: Callable[[str], None] = print) -> tuple[Dataset, dict]:
    """The gold windows of the train documents and back-to-back windows of the external prose (no stretch
    of dev/test text in it), with a `gold` column; and their metadata: a key of their content (names
    the teacher-label cache), the text statistics, the window length."""
    guard = HeldOutGuard(held_out_texts(log))
    texts, text_stats = external_texts(Path(cfg.data_root or SHARED), cfg.external_sources, cfg.external_chars,
                                       guard, log)
    key = _fingerprint(cfg.max_len, lexicon, tokenizer.vocab_size, [d.model_dump(mode="json") for d in train_docs],
                       texts)
    gold = tokenise_documents(train_docs, tokenizer, cfg.max_len, lexicon=lexicon)
    unlabelled = Dataset.from_dict({"text": texts}).map(
        _window_batch, batched=True, remove_columns=["text"], features=gold.features,
        fn_kwargs={"tokenizer": tokenizer, "max_len": cfg.max_len, "lexicon": lexicon}, desc="windows",
        cache_file_name=str(cache / f"windows-{key}.arrow"), new_fingerprint=f"windows-{key}")
    windows = concatenate_datasets([gold.add_column("gold", [True] * len(gold)),
                                    unlabelled.add_column("gold", [False] * len(unlabelled))])
    log(f"[distil] {len(train_docs)} gold documents -> {len(gold)} windows; {len(texts)} external texts -> "
        f"{len(unlabelled)} windows")
    return windows, {"key": key, "max_len": cfg.max_len, "lexicon": lexicon, "gold_windows": len(gold),
                     "windows": len(windows), "text": text_stats}


def sample_unlabelled(windows: Dataset, meta: dict, n: int, seed: int) -> tuple[Dataset, dict]:
    """Every gold window and a seeded sample of `n` unlabelled ones (in their order); the metadata's key
    names the sample, so teacher labels cached for other windows are not reused."""
    gold = np.asarray(windows["gold"], dtype=bool)
    unlabelled = np.flatnonzero(~gold)
    keep = np.sort(np.random.default_rng(seed).permutation(unlabelled)[:n])
    rows = np.sort(np.concatenate([np.flatnonzero(gold), keep]))
    return windows.select(rows), {**meta, "key": _fingerprint(meta["key"], "sample", n, seed), "windows": len(rows),
                                  "unlabelled_sample": {"of": len(unlabelled), "kept": len(keep), "seed": seed}}


def save_windows(windows: Dataset, meta: dict, path: Path) -> None:
    """Windows in compact types (`COMPACT_WINDOWS`) + their metadata, for `load_windows` elsewhere."""
    compact = Features({k: v for k, v in COMPACT_WINDOWS.items() if k in windows.column_names})
    windows.cast(compact).save_to_disk(str(path))
    (path / WINDOWS_META).write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")


def load_windows(path: Path, max_len: int, lexicon: bool) -> tuple[Dataset, dict]:
    """Windows saved by `save_windows`, checked against the run: same window length, lexicon features
    exactly when the teacher reads them."""
    meta_file = path / WINDOWS_META
    if not meta_file.is_file():
        raise ValueError(f"{path}: no {WINDOWS_META}; save windows with `zhie train distil --windows-only`")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta["max_len"] != max_len or meta["lexicon"] != lexicon:
        raise ValueError(f"{path}: windows of max_len {meta['max_len']} and lexicon {meta['lexicon']}, but this run "
                         f"has max_len {max_len} and a teacher with lexicon {lexicon}")
    return load_from_disk(str(path)), meta


# ---------------------------------------------------------------- teacher soft labels


def _fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def teacher_fingerprint(teacher_dir: Path) -> list:
    """What identifies a saved teacher: its config and the name, size and time of every weight file."""
    weights = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in teacher_dir.glob("*.safetensors"))
    return [str(teacher_dir.resolve()), (teacher_dir / "config.json").read_text(encoding="utf-8"), weights]


@torch.inference_mode()
def _teacher_batch(batch: dict, teacher: PreTrainedModel, pad_id: int) -> dict:
    """The teacher's logits of one batch of windows, computed on the teacher's device."""
    seqs = batch["input_ids"]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    types = torch.zeros((len(seqs), width), dtype=torch.long) if "token_type_ids" in batch else None
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
        mask[r, :len(s)] = 1
        if types is not None:
            types[r, :len(s)] = torch.tensor(batch["token_type_ids"][r])
    device = teacher.device
    logits = teacher(input_ids=ids.to(device), attention_mask=mask.to(device),
                     token_type_ids=None if types is None else types.to(device)).logits.float().cpu()
    return {"teacher_logits": [logits[r, 1:len(s) - 1].to(torch.float16).numpy() for r, s in enumerate(seqs)]}


def label_windows(windows: Dataset, teacher: PreTrainedModel, pad_id: int, cache_dir: Path, key: str,
                  batch_size: int, log: Callable[[str], None] = print) -> tuple[Dataset, dict]:
    """The windows with the teacher's logits of every token between [CLS] and [SEP] (float16).

    Windows are sorted by length (less padding) and labelled in shards of SHARD_WINDOWS, each its own
    Arrow file under `cache_dir`: a shard already there is reused, so labelling resumes where it stopped.
    """
    ordered = windows.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True,
                          cache_file_name=str(cache_dir / f"windows-{key}-len.arrow"),
                          new_fingerprint=f"windows-{key}-len").sort(
        "length", indices_cache_file_name=str(cache_dir / f"windows-{key}-sorted.arrow"),
        new_fingerprint=f"windows-{key}-sorted")  # a stable sort (pyarrow's)
    features = Features({**ordered.features, "teacher_logits": Array2D(shape=(None, len(BIO_TAGS)), dtype="float16")})
    n_shards = max(1, math.ceil(len(ordered) / SHARD_WINDOWS))
    total_tokens = sum(ordered["length"])
    teacher.eval()
    shards, done_tokens, fresh_tokens, t0 = [], 0, 0, time.time()
    for i in range(n_shards):
        path = cache_dir / f"teacher-{key}-{i:04d}-of-{n_shards:04d}.arrow"
        cached = path.exists()
        shard = ordered.shard(n_shards, i, contiguous=True)
        shards.append(shard.map(_teacher_batch, batched=True, batch_size=batch_size, features=features,
                                fn_kwargs={"teacher": teacher, "pad_id": pad_id}, cache_file_name=str(path),
                                new_fingerprint=f"teacher-{key}-{i}-{n_shards}", desc=f"teacher shard {i + 1}"))
        shard_tokens = sum(shard["length"])
        done_tokens += shard_tokens
        fresh_tokens += 0 if cached else shard_tokens
        elapsed = time.time() - t0
        rate = fresh_tokens / elapsed if fresh_tokens and elapsed > 0 else 0.0
        eta = (total_tokens - done_tokens) / rate if rate else 0.0
        log(f"[distil] teacher labels: shard {i + 1}/{n_shards} {'(cached) ' if cached else ''}"
            f"{done_tokens:,}/{total_tokens:,} tokens, {rate:,.0f} tokens/s, eta {eta / 60:.1f} min")
    seconds = time.time() - t0
    return concatenate_datasets(shards), {"windows": len(ordered), "tokens": total_tokens, "shards": n_shards,
                                          "seconds": round(seconds),
                                          "tokens_per_s": round(fresh_tokens / seconds) if fresh_tokens else None}


# ---------------------------------------------------------------- the student


def student_config(teacher: PreTrainedModel, cfg: DistilRunConfig) -> BertConfig:
    """The student's architecture: the teacher's vocabulary and positions, the configured size; a CRF
    teacher's transitions too (the student learns the teacher's emissions, so it decodes with them), and
    a lexicon teacher's feature spec (the student reads the same token types)."""
    t = teacher.config
    extra = {key: getattr(t, key) for key in (CRF_KEY, LEXICON_KEY) if getattr(t, key, None)}
    return BertConfig(**extra, vocab_size=t.vocab_size, max_position_embeddings=t.max_position_embeddings,
                      type_vocab_size=t.type_vocab_size, pad_token_id=t.pad_token_id,
                      hidden_size=cfg.student_hidden, num_hidden_layers=cfg.student_layers,
                      num_attention_heads=cfg.student_heads or max(1, cfg.student_hidden // 64),
                      intermediate_size=cfg.student_intermediate or 4 * cfg.student_hidden)


def init_from_teacher(student: PreTrainedModel, teacher: PreTrainedModel) -> dict:
    """Start the student from what the teacher knows.

    Same hidden size: copy every tensor of the same name and shape (embeddings, the first N layers,
    the classifier). Otherwise: project the teacher's embeddings (words, positions, token types) onto
    the top principal components of its word embeddings, which keeps most of their geometry for the
    cost of one SVD; the rest stays randomly initialised.
    """
    s_sd, t_sd = student.state_dict(), teacher.state_dict()
    if student.config.hidden_size == teacher.config.hidden_size:
        copied = {k: t_sd[k] for k, v in s_sd.items() if k in t_sd and t_sd[k].shape == v.shape}
        student.load_state_dict(copied, strict=False)
        return {"method": "copy", "tensors": len(copied), "of": len(s_sd)}
    t_emb, s_emb = teacher.bert.embeddings, student.bert.embeddings
    words = t_emb.word_embeddings.weight.detach().float()
    mean = words.mean(0)
    _, singular, vh = torch.linalg.svd(words - mean, full_matrices=False)
    k = min(student.config.hidden_size, words.shape[1])
    basis = vh[:k].T  # teacher hidden x k
    with torch.no_grad():
        s_emb.word_embeddings.weight[:, :k] = (words - mean) @ basis
        s_emb.position_embeddings.weight[:, :k] = t_emb.position_embeddings.weight.float() @ basis
        s_emb.token_type_embeddings.weight[:, :k] = t_emb.token_type_embeddings.weight.float() @ basis
    kept = float((singular[:k] ** 2).sum() / (singular ** 2).sum())
    return {"method": "pca-embeddings", "components": k, "variance_kept": round(kept, 4)}


def pruned_student(source: Path, gold: Dataset, tokenizer, cfg: DistilRunConfig,
                   calibration: int = CALIBRATION_WINDOWS) -> tuple[PreTrainedModel, dict]:
    """The NER model at `source`, width-pruned to the student's size by its activations on `calibration`
    of the `gold` windows (labelled, sorted by length), spread over all lengths: real annotated text."""
    model = load_ner_model(source).float()
    if uses_lexicon(model.config) != ("token_type_ids" in gold.column_names):
        raise ValueError(f"{source}: lexicon features {uses_lexicon(model.config)}, but the windows "
                         f"{'have' if 'token_type_ids' in gold.column_names else 'lack'} them")
    batches = calibration_batches(gold, tokenizer, calibration, cfg.batch_size)
    heads = cfg.student_heads or max(1, cfg.student_hidden // 64)
    student, info = prune(model, importance(model, batches), cfg.student_hidden, heads,
                          cfg.student_intermediate or 4 * cfg.student_hidden, cfg.student_layers)
    return student, {**info, "source": str(source), "calibration_windows": min(calibration, len(gold))}


def collate(features: list[dict], pad_id: int, path_transitions: Transitions | None = None,
            decode_path: bool = False) -> dict[str, torch.Tensor]:
    """Pad a batch; `teacher_logits` sit on the tokens between [CLS] and [SEP], `kd_mask` marks them.
    With `decode_path`, `teacher_tags` holds the teacher's own decoded tags there (the constrained Viterbi path
    over its logits and `path_transitions`, as inference decodes it), IGNORE elsewhere."""
    width = max(len(f["input_ids"]) for f in features)
    n = len(features)
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention = torch.zeros((n, width), dtype=torch.long)
    labels = torch.full((n, width), IGNORE, dtype=torch.long)
    teacher = torch.zeros((n, width, len(BIO_TAGS)), dtype=torch.float32)
    kd_mask = torch.zeros((n, width), dtype=torch.bool)
    types = torch.zeros((n, width), dtype=torch.long) if "token_type_ids" in features[0] else None
    for r, f in enumerate(features):
        m = len(f["input_ids"])
        input_ids[r, :m] = torch.tensor(f["input_ids"])
        if types is not None:
            types[r, :m] = torch.tensor(f["token_type_ids"])
        attention[r, :m] = 1
        labels[r, :m] = torch.tensor(f["labels"])
        teacher[r, 1:m - 1] = torch.tensor(np.asarray(f["teacher_logits"], dtype=np.float32))
        kd_mask[r, 1:m - 1] = True
    batch = {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "teacher_logits": teacher,
             "kd_mask": kd_mask}
    if decode_path:
        spans = [teacher[r, 1:len(f["input_ids"]) - 1] for r, f in enumerate(features)]
        paths = viterbi_batch([x.softmax(-1).numpy() for x in spans], path_transitions)
        tags = torch.full((n, width), IGNORE, dtype=torch.long)
        for r, path in enumerate(paths):
            tags[r, 1:1 + len(path)] = torch.tensor(path, dtype=torch.long)
        batch["teacher_tags"] = tags
    return batch | ({"token_type_ids": types} if types is not None else {})


class PlannedLR:
    """LambdaLR's factor from a `LinearSchedule` (training/schedule.py). A callable object, not a
    function, so that LambdaLR's state_dict, saved in every checkpoint, carries the plan (plain numbers:
    it loads with weights_only) and a resumed run continues the same schedule."""

    def __init__(self, schedule: LinearSchedule) -> None:
        self.__dict__.update(asdict(schedule))

    @property
    def schedule(self) -> LinearSchedule:
        return LinearSchedule(**self.__dict__)

    def __call__(self, step: int) -> float:
        return self.schedule.factor(step)

    def replan(self, step: int, total: int, warmup_fraction: float) -> None:
        schedule = self.schedule
        schedule.replan(step, total, warmup_fraction)
        self.__dict__.update(asdict(schedule))


class BudgetPlan(TrainerCallback):
    """With a time budget, plan the number of steps from the measured time per step (re-planned at every
    log line) so that the linear decay ends when the budget does, whatever else runs on the machine,
    and stop when the planned steps are done; until the first measurement the LR stays near 0.
    Without one, a resumed run whose max_steps changed re-plans to them from where it stands."""

    def __init__(self, minutes: float | None, warmup_fraction: float, log: Callable[[str], None]) -> None:
        self.seconds, self.warmup_fraction, self.log = (minutes * 60 if minutes else None), warmup_fraction, log
        self.deadline: float | None = None
        self.mark: tuple[float, int] | None = None
        self.planned_here = False

    def on_train_begin(self, args, state, control, lr_scheduler=None, **kwargs):
        plan: PlannedLR = lr_scheduler.lr_lambdas[0]  # as loaded from a checkpoint when resuming
        if self.seconds:
            self.deadline = time.time() + self.seconds
        elif not plan.planned or plan.total != state.max_steps:
            plan.replan(state.global_step, state.max_steps, self.warmup_fraction)

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        if self.deadline is None:
            return
        plan: PlannedLR = lr_scheduler.lr_lambdas[0]
        step, now = state.global_step, time.time()
        if self.mark is None:
            self.mark = (now, step)  # the first step (start-up costs) is not measured
        elif step - self.mark[1] >= 3 and (not self.planned_here or step % args.logging_steps == 0):
            per_step = (now - self.mark[0]) / (step - self.mark[1])
            plan.replan(step, min(state.max_steps, step + max(1, int((self.deadline - now) / per_step))),
                        self.warmup_fraction)
            if not self.planned_here:
                self.log(f"[distil] measured {per_step:.2f} s/step: planning {plan.total} steps "
                         f"(warmup {plan.warmup}) to end with the budget")
            self.planned_here = True
        if self.planned_here and step >= plan.total:
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, lr_scheduler=None, **kwargs):
        if logs is not None and lr_scheduler is not None:
            logs["planned_steps"] = lr_scheduler.lr_lambdas[0].total


class DistilTrainer(Trainer):
    """Loss = T² · KL(teacher_T ‖ student_T) over the distilled tokens + gold_weight · CE on gold tags.
    The two parts are averaged between log lines and shown beside the loss."""

    def __init__(self, *args, temperature: float, gold_weight: float, warmup_fraction: float, budgeted: bool,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.temperature, self.gold_weight = temperature, gold_weight
        self.warmup_fraction, self.budgeted = warmup_fraction, budgeted
        self._parts: Counter = Counter()

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        """Linear warmup and decay over `num_training_steps`, or, with a time budget, a plan that
        `BudgetPlan` fits to the measured speed."""
        if self.lr_scheduler is None:
            if self.budgeted:
                schedule = LinearSchedule(PROVISIONAL_WARMUP, num_training_steps, PROVISIONAL_WARMUP, planned=False)
            else:
                warmup = max(1, round(self.warmup_fraction * num_training_steps))
                schedule = LinearSchedule(warmup, num_training_steps, warmup)
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, PlannedLR(schedule))
        return self.lr_scheduler

    def _get_train_sampler(self, train_dataset: Dataset | None = None) -> LengthGroupedSampler:
        """Trainer's length-grouped sampler, given the `length` column read at once: Trainer hands it datasets'
        lazy column, which it then reads one row at a time (minutes for 100,000 windows)."""
        ds = self.train_dataset if train_dataset is None else train_dataset
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                    lengths=ds.with_format("numpy")["length"][:].tolist())

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                       token_type_ids=inputs.get("token_type_ids")).logits
        mask = inputs["kd_mask"]
        if "teacher_tags" in inputs:
            kd = torch.nn.functional.cross_entropy(logits[mask], inputs["teacher_tags"][mask])
        else:
            t = self.temperature
            student_log = torch.log_softmax(logits[mask] / t, -1)
            teacher_log = torch.log_softmax(inputs["teacher_logits"][mask] / t, -1)
            kd = (teacher_log.exp() * (teacher_log - student_log)).sum(-1).mean() * t * t
        gold = inputs["labels"] != IGNORE
        ce = (torch.nn.functional.cross_entropy(logits[gold], inputs["labels"][gold]) if gold.any()
              else logits.new_zeros(()))
        self._parts.update({"kd": kd.item(), "ce": ce.item(), "n": 1, "n_ce": int(gold.any())})
        loss = kd + self.gold_weight * ce
        return (loss, logits) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self._parts["n"]:
            logs["kd"] = self._parts["kd"] / self._parts["n"]
            if self._parts["n_ce"]:  # batches grouped by length may hold no gold window for a while
                logs["ce"] = self._parts["ce"] / self._parts["n_ce"]
            self._parts.clear()
        super().log(logs, *args, **kwargs)


# ---------------------------------------------------------------- reports


def teacher_agreement(teacher_docs: Sequence[Document], student_docs: Sequence[Document]) -> dict:
    """Share of the teacher's entities the student reproduces exactly (same span, same label), per label."""
    student = {d.id: {(e.start, e.end, e.label) for e in d.entities} for d in student_docs}
    hit, total = Counter(), Counter()
    for d in teacher_docs:
        for e in d.entities:
            total[e.label] += 1
            hit[e.label] += (e.start, e.end, e.label) in student[d.id]
    out = {lab: {"reproduced": round(hit[lab] / total[lab], 4), "teacher_entities": total[lab]}
           for lab in ENTITY_LABELS if total[lab]}
    n = sum(total.values())
    out["all"] = {"reproduced": round(sum(hit.values()) / n, 4) if n else 0.0, "teacher_entities": n}
    return out


def dev_reports(out: Path, teacher_dir: Path, dev_docs: Sequence[Document], predict: Predict) -> dict:
    """Write OUT/dev_report.json (the student, strict char-level spans); return the summary for
    train_metrics.json: student and teacher F1 per label and the agreement with the teacher."""
    student_pred, teacher_pred = predict(out, dev_docs), predict(teacher_dir, dev_docs)
    report = evaluate_documents(dev_docs, student_pred)
    (out / "dev_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    teacher_report = evaluate_documents(dev_docs, teacher_pred)["entities"]
    f1 = lambda rep: {k: v["f1-score"] for k, v in rep.items() if k not in ("macro avg", "weighted avg")}  # noqa: E731
    return {"documents": len(dev_docs), "student_f1": f1(report["entities"]), "teacher_f1": f1(teacher_report),
            "agreement_with_teacher": teacher_agreement(teacher_pred, student_pred)}


# ---------------------------------------------------------------- the run


def distil(train_docs: Sequence[Document], dev_docs: Sequence[Document] | None, cfg: DistilRunConfig,
           predict: Predict | None = None, log: Callable[[str], None] = print) -> dict:
    """Label, train, save the student (+ tokenizer) in cfg.output, report on dev; return the metrics.

    `predict(model_dir, docs)` runs a saved model the way users do; without it there is no dev report.
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    keep_freed_memory()  # ~12 % faster CPU steps: activations reuse freed pages
    set_seed(cfg.seed)
    out = Path(cfg.output)
    cfg.save(out)
    teacher_dir = Path(cfg.teacher or DEFAULT_TEACHER)
    teacher, tokenizer = load_ner_model(teacher_dir), load_tokenizer(teacher_dir)

    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    lexicon = uses_lexicon(teacher.config)
    if cfg.windows:
        windows, meta = load_windows(Path(cfg.windows), cfg.max_len, lexicon)
        log(f"[distil] {len(windows)} windows from {cfg.windows} ({meta['gold_windows']} gold)")
    else:
        windows, meta = build_windows(train_docs, cfg, tokenizer, lexicon, cache, log)
    if cfg.unlabelled_windows is not None:
        windows, meta = sample_unlabelled(windows, meta, cfg.unlabelled_windows, cfg.seed)
        log(f"[distil] sampled {cfg.unlabelled_windows} unlabelled windows; {len(windows)} in all")
    if cfg.windows_only:
        save_windows(windows, meta, out / "windows")
        log(f"[distil] windows saved to {out / 'windows'}")
        return meta
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    int8 = cfg.teacher_int8 and device.type == "cpu"  # dynamic int8 runs on CPU only; an accelerator needs none
    key = _fingerprint(teacher_fingerprint(teacher_dir), int8, SHARD_WINDOWS, meta["key"])
    log(f"[distil] teacher {teacher_dir} labels on {device}{' in int8' if int8 else ''} (cache key {key})")
    labeller = (torch.ao.quantization.quantize_dynamic(teacher, {torch.nn.Linear}, dtype=torch.qint8)
                if int8 else teacher.to(device))  # int8: a copy, the fp32 teacher still initialises the student
    labelled, label_stats = label_windows(windows, labeller, tokenizer.pad_token_id, cache, key,
                                          cfg.label_batch_size, log)
    teacher.to("cpu")

    gold_rows = [i for i, g in enumerate(labelled["gold"]) if g]
    order = list(range(len(labelled))) + gold_rows * (cfg.gold_repeat - 1)
    train_ds = labelled.select(order).with_format("numpy")
    steps = cfg.max_steps or math.ceil(cfg.epochs * len(train_ds) / cfg.batch_size)  # with a budget: at most
    torch.manual_seed(cfg.seed)
    if cfg.prune_from:
        student, init = pruned_student(Path(cfg.prune_from), labelled.select(gold_rows), tokenizer, cfg)
    else:
        student = build_ner_model(student_config(teacher, cfg))
        init = init_from_teacher(student, teacher)
    n_params = sum(p.numel() for p in student.parameters())
    log(f"[distil] student L{cfg.student_layers} H{cfg.student_hidden}: {n_params / 1e6:.1f} M parameters, "
        f"init {init}; {len(train_ds)} windows per epoch ({len(gold_rows)} gold x{cfg.gold_repeat}), {steps} steps")

    ckpt_dir = out / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir), max_steps=steps, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, logging_steps=cfg.logging_steps, save_strategy="no", save_total_limit=1,
        eval_strategy="no", use_cpu=not torch.cuda.is_available(), report_to=[], seed=cfg.seed,
        disable_tqdm=True, dataloader_num_workers=cfg.dataloader_workers, remove_unused_columns=False, **_LENGTH_GROUPING)
    transitions = crf_transitions(teacher.config)
    trainer = DistilTrainer(model=student, args=args, train_dataset=train_ds, processing_class=tokenizer,
                            data_collator=functools.partial(collate, pad_id=tokenizer.pad_token_id,
                                                            path_transitions=transitions,
                                                            decode_path=cfg.kd_target == "path"),
                            callbacks=[BudgetPlan(cfg.max_minutes, cfg.warmup_fraction, log),
                                       Progress("distil", cfg.max_minutes), SaveEvery(cfg.save_minutes)],
                            temperature=cfg.temperature, gold_weight=cfg.gold_weight,
                            warmup_fraction=cfg.warmup_fraction, budgeted=cfg.max_minutes is not None)
    trainer.remove_callback(PrinterCallback)  # Progress prints the same logs with the step count
    last = last_checkpoint(ckpt_dir) if cfg.resume else None
    if last:
        log(f"[distil] resuming from {last}")
    t0 = time.time()
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    seconds = time.time() - t0
    done = trainer.state.global_step - (int(last.name.split("-")[1]) if last else 0)
    mean_len = float(np.mean(train_ds["length"]))
    metrics: dict = {
        "text": meta["text"], "labelling": label_stats,
        "student": {"parameters": n_params, "init": init,
                    **{k: getattr(student.config, k) for k in ("num_hidden_layers", "hidden_size",
                                                               "num_attention_heads", "intermediate_size")}},
        "steps": trainer.state.global_step, "planned_steps": steps, "train_seconds": round(seconds),
        "train_tokens_per_s": round(done * cfg.batch_size * mean_len / seconds) if seconds else None,
        "device": str(trainer.args.device)}
    model = trainer.model.eval()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if dev_docs and predict is not None:
        metrics["dev"] = dev_reports(out, teacher_dir, dev_docs, predict)
    (out / "train_metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    if cfg.export_fp16:
        export_fp16(out, Path(cfg.export_fp16))
    return metrics
