"""Train the shared-encoder relation head on a NER model's frozen token states.

records -> the NER encoder's last hidden states (one pass per document, the same windows as
inference) -> one `datasets.Dataset` row per amount or place and its candidate projects (unlinked
candidates are negatives) -> Trainer over the small head (each pair's own loss + the tail's choice among
its projects) -> thresholds per label chosen on dev -> a copy of the NER model folder
with the head beside its weights, so that one folder (and one encoder pass) gives entities and relations.
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from datasets import Dataset, Features, Sequence as Seq, Value
from pydantic import Field, field_validator
from transformers import PrinterCallback, Trainer, TrainingArguments, set_seed

from zhie.annotation.records import Document
from zhie.models.allocator import keep_freed_memory
from zhie.models.lexicon import default_lexicon, uses_lexicon
from zhie.models.ner import load_ner_model
from zhie.models.pair_head import (CUES, N_VECTORS, PairHead, head_probs, pair_inputs, save_pair_head, tail_groups,
                                   tail_logits)
from zhie.models.relation import CLASSES, NONE, allowed_classes, candidate_pairs, with_relations
from zhie.models.tokenizer import encode_texts, load_tokenizer
from zhie.models.version import model_version
from zhie.models.windows import run_windows
from zhie.training.paths import REPO
from zhie.training.progress import Progress
from zhie.training.run_config import DevSource, RunConfig
from zhie.training.train_re import choose_thresholds, dev_report

DEFAULT_NER = REPO / "models" / "weights" / "ner"


class HeadRunConfig(RunConfig):
    """`zhie train re-head`: defaults are the bundled head's recipe."""

    FILE_NAME: ClassVar[str] = "relation_head_run_config.json"  # beside the NER model's own run_config.json

    output: Path = Path("runs/ner-re")
    ner_model: Path = DEFAULT_NER  # the NER model whose states the head reads (copied into OUTPUT)
    data: list[str] = ["news:train"]
    dev: DevSource = "news:dev"  # None: no dev report, and `thresholds` (or 0.5) are used
    # fixed thresholds per label instead of choosing them on dev: for a run whose dev split is in its training
    # data (a final model on train+dev reuses what its train-only twin chose on dev)
    thresholds: dict[str, float] | None = None
    epochs: float = 8.0
    batch_size: int = 48  # amounts/places (each with its candidate projects) per step
    lr: float = 1e-3
    weight_decay: float = 0.01
    inner: int = 256
    dropout: float = 0.2
    positive_weight: float = 2.0  # loss weight of a linked pair against the many unlinked ones
    choice_weight: float = Field(0.5, ge=0.0, le=1.0)  # share of the loss on each tail's choice among its projects (the rest: per pair)
    seed: int = 13
    window: int = 254
    stride: int = 192
    logging_steps: int = 50

    @field_validator("thresholds")
    @classmethod
    def _one_per_relation(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and (set(value) != set(CLASSES[1:]) or not all(0.0 < v < 1.0 for v in value.values())):
            raise ValueError(f"thresholds: give one number in (0, 1) for each of {', '.join(CLASSES[1:])}, not {value}")
        return value


@torch.inference_mode()
def encoder_states(model: torch.nn.Module, tokenizer, texts: Sequence[str], window: int = 254, stride: int = 192,
                   batch_size: int = 16) -> tuple[list[torch.Tensor], list[list[tuple[int, int]]]]:
    """Last hidden states per token of each text, through the windows inference uses (with the lexicon
    features of a model that reads them), and the token offsets."""
    enc = encode_texts(tokenizer, texts)
    types = default_lexicon().token_types(texts, enc["offset_mapping"]) if uses_lexicon(model.config) else None

    def run(ids: np.ndarray, mask: np.ndarray, token_types: np.ndarray | None) -> tuple[np.ndarray]:
        out = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                    token_type_ids=None if token_types is None else torch.from_numpy(token_types),
                    output_hidden_states=True)
        return (out.hidden_states[-1].float().numpy(),)

    outs = run_windows(enc["input_ids"], run, (model.config.hidden_size,), window, stride, batch_size,
                       tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id, types)
    return [torch.from_numpy(o[0]) for o in outs], enc["offset_mapping"]


def pair_rows(docs: Sequence[Document], hidden: Sequence[torch.Tensor],
              offsets: Sequence[Sequence[tuple[int, int]]]) -> Iterator[dict]:
    """One row per amount or place: its candidate pairs' head inputs and gold classes (unlinked = none),
    kept together because the loss makes them compete for the tail."""
    for i, doc in enumerate(docs):
        cands = candidate_pairs(doc, i)
        if not cands:
            continue
        gold = {(r.head, r.tail): r.label for r in doc.relations}
        vectors, cues = pair_inputs(hidden[i], offsets[i], doc, cands)
        group, _ = tail_groups(cands)
        for g in range(int(group.max()) + 1):
            members = (group == g).nonzero().flatten().tolist()
            yield {"vectors": vectors[members].numpy(), "cues": cues[members].tolist(),
                   "tail_label": cands[members[0]].tail.label,
                   "labels": [CLASSES.index(gold.get((cands[k].head.id, cands[k].tail.id), NONE)) for k in members]}


def pair_dataset(docs: Sequence[Document], encoder: torch.nn.Module, tokenizer, cfg: HeadRunConfig,
                 cache_dir: Path) -> Dataset:
    """A datasets.Dataset of candidate pairs: documents (as JSON records) mapped in batches through the
    encoder into pair rows, so states never pile up for the whole corpus; cached on disk by datasets
    (the fingerprint covers the records, the encoder's weights and the settings)."""
    width = N_VECTORS * encoder.config.hidden_size
    features = Features({"vectors": Seq(Seq(Value("float32"), length=width)),
                         "cues": Seq(Seq(Value("int64"), length=len(CUES))),
                         "tail_label": Value("string"), "labels": Seq(Value("int64"))})

    def to_pairs(batch: dict[str, list]) -> dict[str, list]:
        part = [Document.model_validate_json(r) for r in batch["record"]]
        hidden, offsets = encoder_states(encoder, tokenizer, [d.text for d in part], cfg.window, cfg.stride)
        rows = list(pair_rows(part, hidden, offsets))
        return {k: [r[k] for r in rows] for k in features}

    records = Dataset.from_dict({"record": [d.model_dump_json() for d in docs]})
    cache_dir.mkdir(parents=True, exist_ok=True)
    return records.map(to_pairs, batched=True, batch_size=32, remove_columns=["record"], features=features,
                       cache_file_name=str(cache_dir / "pairs.arrow"), desc="encoder states -> pairs")


class _HeadForTraining(torch.nn.Module):
    """The head with its loss, in the shape Trainer expects (a dict with `loss`): per pair, weighted
    cross-entropy over none | relation; per tail, cross-entropy of its choice among "no project" and its
    candidates (the gold projects' probabilities summed)."""

    def __init__(self, head: PairHead, class_weights: torch.Tensor, choice_weight: float) -> None:
        super().__init__()
        self.head = head
        self.choice_weight = choice_weight
        self.register_buffer("class_weights", class_weights)

    def forward(self, vectors: torch.Tensor, cues: torch.Tensor, allowed: torch.Tensor, group: torch.Tensor,
                slot: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        logits = self.head(vectors, cues).masked_fill(~allowed, float("-inf"))
        out = {"logits": logits}
        if labels is not None:
            pair_loss = torch.nn.functional.cross_entropy(logits, labels, weight=self.class_weights)
            choices = tail_logits(logits, group, slot)
            gold = torch.zeros_like(choices, dtype=torch.bool)
            gold[group, slot + 1] = labels != 0
            gold[:, 0] = ~gold[:, 1:].any(-1)
            choice_loss = (choices.logsumexp(-1) - choices.masked_fill(~gold, float("-inf")).logsumexp(-1)).mean()
            out["loss"] = (1 - self.choice_weight) * pair_loss + self.choice_weight * choice_loss
        return out


def _collate(rows: Sequence[dict]) -> dict[str, torch.Tensor]:
    """Tails' candidate pairs flattened, with each pair's group (its tail in this batch) and slot."""
    sizes = [len(r["labels"]) for r in rows]
    return {"vectors": torch.cat([torch.as_tensor(r["vectors"], dtype=torch.float32) for r in rows]),
            "cues": torch.tensor([q for r in rows for q in r["cues"]], dtype=torch.long),
            "allowed": allowed_classes([r["tail_label"] for r, n in zip(rows, sizes) for _ in range(n)]),
            "group": torch.tensor([g for g, n in enumerate(sizes) for _ in range(n)], dtype=torch.long),
            "slot": torch.tensor([k for n in sizes for k in range(n)], dtype=torch.long),
            "labels": torch.tensor([y for r in rows for y in r["labels"]], dtype=torch.long)}


def copy_ner_model(src: Path, dst: Path) -> None:
    """The NER model's files (not its checkpoints) into `dst`, where the head will join them."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.is_file():
            shutil.copy2(path, dst / path.name)


def train_relation_head(train_docs: Sequence[Document], dev_docs: Sequence[Document] | None,
                        cfg: HeadRunConfig) -> dict:
    """Train the head, choose thresholds on dev, write OUTPUT = NER model + head (+ reports); return the metrics."""
    keep_freed_memory()  # ~12 % faster CPU steps: activations reuse freed pages
    set_seed(cfg.seed)
    out = Path(cfg.output)
    ner_dir = Path(cfg.ner_model)
    trained_on = model_version(ner_dir)
    if out.resolve() != ner_dir.resolve():
        copy_ner_model(ner_dir, out)
    cfg.save(out)
    encoder, tokenizer = load_ner_model(ner_dir).eval(), load_tokenizer(ner_dir)
    t0 = time.time()
    train_ds = pair_dataset(train_docs, encoder, tokenizer, cfg, out / "cache")
    n_pairs = sum(len(ys) for ys in train_ds["labels"])
    n_pos = sum(1 for ys in train_ds["labels"] for y in ys if y != 0)
    if n_pos == 0:
        raise ValueError("the training documents hold no relation between candidate pairs: nothing to learn")
    print(f"[re-head] {len(train_docs)} train docs -> {n_pairs} candidate pairs ({n_pos} linked) of "
          f"{len(train_ds)} amounts/places; encoder states in {time.time() - t0:.0f}s", flush=True)
    head = PairHead(encoder.config.hidden_size, cfg.inner, dropout=cfg.dropout)
    weights = torch.tensor([1.0] + [cfg.positive_weight] * (len(CLASSES) - 1))
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, lr_scheduler_type="linear", warmup_steps=0.05,
        logging_steps=cfg.logging_steps, save_strategy="no", eval_strategy="no", report_to=[], seed=cfg.seed,
        use_cpu=not torch.cuda.is_available(), disable_tqdm=True, dataloader_num_workers=0,
        remove_unused_columns=False)
    trainer = Trainer(model=_HeadForTraining(head, weights, cfg.choice_weight), args=args, train_dataset=train_ds, data_collator=_collate,
                      callbacks=[Progress("re-head")])
    trainer.remove_callback(PrinterCallback)
    t1 = time.time()
    trainer.train()
    head.eval()
    metrics: dict = {"train": {"documents": len(train_docs), "candidates": n_pairs, "tails": len(train_ds),
                               "linked": n_pos},
                     "steps": trainer.state.global_step, "train_seconds": round(time.time() - t1),
                     "encoder_seconds": round(t1 - t0)}
    thresholds = dict(cfg.thresholds) if cfg.thresholds else {lab: 0.5 for lab in CLASSES[1:]}
    if dev_docs:
        dev_hidden, dev_offsets = encoder_states(encoder, tokenizer, [d.text for d in dev_docs], cfg.window, cfg.stride)
        cands, probs = head_probs(head, dev_docs, dev_hidden, dev_offsets)
        if not cfg.thresholds:
            thresholds = choose_thresholds(cands, probs, dev_docs)
        report = dev_report(dev_docs, with_relations(dev_docs, cands, probs, thresholds))
        (out / "relation_dev_report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False),
                                                      encoding="utf-8")
        metrics["dev"] = {"thresholds": thresholds, **report}
    save_pair_head(head, out, thresholds, {"trained_on": trained_on})
    shutil.rmtree(out / "cache", ignore_errors=True)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    (out / "relation_train_metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False),
                                                     encoding="utf-8")
    return metrics
