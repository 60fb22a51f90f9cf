"""Fine-tune a BERT encoder for NER: documents -> token windows -> Trainer -> seqeval -> save_pretrained."""
from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from transformers import (BertConfig, DataCollatorForTokenClassification, PrinterCallback, Trainer,
                          TrainingArguments, set_seed)

from zhie.annotation.labels import ID2TAG
from zhie.annotation.records import Document
from zhie.models.allocator import keep_freed_memory
from zhie.models.crf import CONFIG_KEY, Transitions, viterbi
from zhie.models.lexicon import add_lexicon_types, uses_lexicon
from zhie.models.ner import build_ner_model, crf_transitions
from zhie.models.tokenizer import load_tokenizer, tokenizer_from_vocab
from zhie.training.adversarial import with_fgm
from zhie.training.data import IGNORE, tokenise_documents
from zhie.training.metrics import entity_report
from zhie.training.progress import Progress, last_checkpoint
from zhie.training.run_config import NerRunConfig

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ENCODER = REPO / "models" / "weights" / "encoder"


def resolve_base(base_model: str | Path | None):
    """`None` = our bundled pretrained encoder; `random:PRESET` = random init; else a checkpoint dir/name."""
    if base_model is None:
        base_model = DEFAULT_ENCODER
    if isinstance(base_model, BertConfig):
        return base_model, tokenizer_from_vocab()
    spec = str(base_model)
    if spec.startswith("random:"):
        from zhie.models.encoder import bert_config

        return bert_config(spec.split(":", 1)[1]), tokenizer_from_vocab()
    return spec, load_tokenizer(spec)


# Batches of similar length waste less padding; the option was renamed within transformers 5.x.
_LENGTH_GROUPING = ({"train_sampling_strategy": "group_by_length"}
                    if "train_sampling_strategy" in inspect.signature(TrainingArguments).parameters
                    else {"group_by_length": True})


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _compute_metrics(eval_pred, transitions: Callable[[], Transitions] | None = None) -> dict:
    """Token-level seqeval of each window's labelled tokens: arg-max tags, or with `transitions` (a CRF
    run's current scores) the inference decoder's path, so the dev score is what the saved model gives."""
    logits, labels = eval_pred
    learned = transitions() if transitions is not None else None
    pred = np.argmax(logits, axis=-1)
    gold_seqs, pred_seqs = [], []
    for p_row, s_row, l_row in zip(pred, logits, labels):
        keep = l_row != IGNORE
        gold_seqs.append([ID2TAG[int(x)] for x in l_row[keep]])
        path = p_row[keep] if learned is None else viterbi(_softmax(s_row[keep]), learned)
        pred_seqs.append([ID2TAG[int(x)] for x in path])
    rep = entity_report(gold_seqs, pred_seqs)
    out = {"f1": rep["micro avg"]["f1-score"]}
    out.update({f"f1_{k}": v["f1-score"] for k, v in rep.items() if k not in ("micro avg", "macro avg", "weighted avg")})
    return out


def _own_lr_for_token_types(trainer: Trainer, lr: float) -> None:
    """Give the token-type rows (the lexicon features) their own learning rate without weight decay: they
    start as copies of one row and must grow apart within a fine-tuning run's few hundred small steps."""
    optimizer = trainer.create_optimizer()
    rows = trainer.model.bert.embeddings.token_type_embeddings.weight
    for group in optimizer.param_groups:
        group["params"] = [p for p in group["params"] if p is not rows]
    optimizer.add_param_group({"params": [rows], "lr": lr, "weight_decay": 0.0})


def train_ner(train_docs: Sequence[Document], dev_docs: Sequence[Document] | None, config: NerRunConfig,
              encoder: BertConfig | None = None) -> dict:
    """Train, evaluate on `dev_docs` (token-level seqeval strict), save model + tokenizer; return metrics.

    The resolved `config` is saved into its output folder (with the git revision) before step 0.
    `encoder` replaces `config.base_model` by a random-init architecture (tests, experiments).
    With `config.crf` the loss is a CRF's (zhie.training.crf) and the learned transitions are saved in
    the model's config; a CRF base's transitions are its starting point, and are dropped otherwise.
    """
    keep_freed_memory()  # ~12 % faster CPU steps: activations reuse freed pages
    set_seed(config.seed)
    output_dir = Path(config.output)
    config.save(output_dir)
    base, tokenizer = resolve_base(encoder if encoder is not None else config.base_model)
    model = build_ner_model(base)
    inherited = crf_transitions(model.config)
    if inherited is not None:
        delattr(model.config, CONFIG_KEY)
    lexicon = uses_lexicon(model.config)  # a lexicon base keeps its features whatever config.lexicon says
    if config.lexicon and not lexicon:
        add_lexicon_types(model)
        lexicon = True
    train_ds = tokenise_documents(train_docs, tokenizer, config.max_len, lexicon=lexicon)
    dev_ds = (tokenise_documents(dev_docs, tokenizer, config.max_len, score_once=True, lexicon=lexicon)
              if dev_docs else None)
    print(f"[ner] {len(train_docs)} train docs -> {len(train_ds)} windows; "
          f"{len(dev_docs or [])} dev docs; base {base if isinstance(base, str) else 'random init'}"
          f"{'; lexicon features' if lexicon else ''}", flush=True)
    ckpt_dir = output_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir), max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=32, learning_rate=config.lr, weight_decay=config.weight_decay,
        warmup_steps=int(config.warmup_fraction * config.max_steps), lr_scheduler_type="linear",
        logging_steps=config.logging_steps, save_strategy="steps",
        save_steps=max(50, int(config.save_minutes * 60 * 2)), save_total_limit=1, eval_strategy="no",
        use_cpu=not torch.cuda.is_available(), report_to=[], seed=config.seed, disable_tqdm=True,
        dataloader_num_workers=0, **_LENGTH_GROUPING,
    )
    trainer_class, metrics_fn = Trainer, _compute_metrics
    if config.crf:
        from zhie.training.crf import CrfTrainer, attach_crf  # torchcrf: the `train` extra, needed only here

        trainer_class = CrfTrainer
        metrics_fn = partial(_compute_metrics, transitions=attach_crf(model, inherited).learned)
    if config.adversarial_epsilon > 0:
        trainer_class = with_fgm(trainer_class, config.adversarial_epsilon)
    trainer = trainer_class(model=model, args=args, train_dataset=train_ds, processing_class=tokenizer,
                            data_collator=DataCollatorForTokenClassification(tokenizer),
                            callbacks=[Progress("ner", config.max_minutes)], compute_metrics=metrics_fn)
    trainer.remove_callback(PrinterCallback)  # Progress prints the same logs with the step count
    if lexicon:
        _own_lr_for_token_types(trainer, config.lexicon_lr)
    t0 = time.time()
    last = last_checkpoint(ckpt_dir) if config.resume else None
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    metrics: dict = {"train_windows": len(train_ds), "steps": trainer.state.global_step,
                     "train_seconds": round(time.time() - t0), "device": str(trainer.args.device)}
    if dev_ds is not None:
        pred = trainer.predict(dev_ds)
        metrics["dev_token_level"] = {k.removeprefix("test_"): v for k, v in pred.metrics.items()}
    if config.crf:
        from zhie.training.crf import detach_crf

        detach_crf(model)
    trainer.save_model(str(output_dir))
    tokenizer.save_pretrained(str(output_dir))
    (output_dir / "train_metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False))
    return metrics
