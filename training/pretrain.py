"""Masked-LM pretraining of a compact Chinese BERT with whole-word masking, built for one GPU run.

Why it looks like this:
- The GPU machine has torch, numpy, transformers, safetensors and tokenizers, nothing else; this module
  and everything it imports (models.encoder, models.tokenizer, training.corpus at import time) stay
  within that set. The corpus arrives pre-tokenised with jieba word-continuation bits.
- Masking is sampled per batch on the device that holds the batch: 15% of the words of each sequence
  (whole words: every token of a chosen word), 80% [MASK] / 10% random token / 10% unchanged per word.
  The prediction head runs on masked positions only (2-3x faster than the full-vocabulary head).
- `--max-minutes` plans the total number of steps from the throughput measured over the first steps
  (and re-plans as it goes) so that the linear decay ends when the budget does; a checkpoint every few
  minutes (model, optimizer, schedule, step, RNG, data position) lets `--resume` continue a run.
- `--export-fp16 DIR` writes fp16 safetensors shards (≤ 15 MB, except the 15.5 MiB word-embedding
  matrix of "base", which safetensors cannot split) + config at the start (to fail fast), at every
  checkpoint and at the end, so that a run cut short still leaves loadable weights behind.

    python -m zhie.training.pretrain --corpus .device/corpus --preset base --output-dir DIR \
        [--max-minutes M] [--resume] [--batch-size N] [--lr X] [--export-fp16 DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import shutil
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import BertConfig, BertForMaskedLM

from zhie.models.encoder import bert_config, build_mlm
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.corpus import (
    CLS_ID,
    CONT_FLAG,
    FIRST_REAL_ID,
    ID_MASK,
    MASK_ID,
    PAD_ID,
    SEP_ID,
    STATS_FILE,
    build_corpus,
    load_split,
)

__all__ = ["pretrain", "build_corpus", "whole_word_mask", "export_fp16", "LinearSchedule", "CorpusSplit"]

CHECKPOINT = "checkpoint.pt"
METRICS = "pretrain_metrics.json"
MAX_FILE_BYTES = 16 * 1024 * 1024  # what one file may weigh to come back from the GPU machine
EVAL_SEED = 1234
PROVISIONAL_WARMUP = 10**9  # before the first plan of a budgeted run: LR ~0 while throughput is measured
UNBOUNDED_STEPS = 10**12


# ---------------------------------------------------------------- data


@dataclass
class CorpusSplit:
    """Packed sequences of one split; `batch` builds [CLS] seq [SEP] [PAD].. rows on the CPU."""

    tokens: np.ndarray
    offsets: np.ndarray

    @classmethod
    def load(cls, corpus_dir: str | Path, split: str) -> CorpusSplit:
        tokens, offsets = load_split(corpus_dir, split)
        return cls(tokens, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def batch(self, idx: np.ndarray, multiple: int = 1) -> tuple[torch.Tensor, torch.Tensor, int]:
        """(ids [B,T] int64, continuation flags [B,T] bool, number of non-pad tokens)."""
        starts = self.offsets[idx]
        lens = self.offsets[idx + 1] - starts
        width = int(lens.max()) + 2
        width = -(-width // multiple) * multiple
        pos = np.arange(width - 2)
        inside = pos[None, :] < lens[:, None]
        raw = self.tokens[np.minimum(starts[:, None] + pos[None, :], len(self.tokens) - 1)].astype(np.int64)
        ids = np.full((len(idx), width), PAD_ID, dtype=np.int64)
        ids[:, 0] = CLS_ID
        ids[:, 1:-1] = np.where(inside, raw & ID_MASK, PAD_ID)
        ids[np.arange(len(idx)), lens + 1] = SEP_ID
        cont = np.zeros((len(idx), width), dtype=bool)
        cont[:, 1:-1] = inside & ((raw & CONT_FLAG) != 0)
        return torch.from_numpy(ids), torch.from_numpy(cont), int(lens.sum()) + 2 * len(idx)


def replacement_pool(tokens: np.ndarray) -> torch.Tensor:
    """Ids that occur in the corpus: the 10% random replacements are drawn from these, not from junk ids."""
    counts = np.bincount(tokens & ID_MASK, minlength=FIRST_REAL_ID + 1)
    present = np.flatnonzero(counts)
    return torch.from_numpy(present[present >= FIRST_REAL_ID].astype(np.int64))


# ---------------------------------------------------------------- masking + loss


def whole_word_mask(
    ids: torch.Tensor,
    cont: torch.Tensor,
    pool: torch.Tensor,
    mask_prob: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose round(mask_prob * words) whole words per row (at least one); return (inputs, chosen).

    A word is a non-special token that does not continue the previous token's word, plus its
    continuations. Chosen words become [MASK] (80%), a random corpus token per position (10%) or
    stay (10%). [CLS], [SEP] and [PAD] are never chosen. Runs on whatever device `ids` lives on.
    """
    dev = ids.device
    rows, width = ids.shape
    special = (ids == PAD_ID) | (ids == CLS_ID) | (ids == SEP_ID)
    prev_special = torch.cat([torch.ones_like(special[:, :1]), special[:, :-1]], dim=1)
    start = ~special & (~cont | prev_special)
    pos = torch.arange(width, device=dev).unsqueeze(0).repeat(rows, 1)
    word_start = torch.where(start, pos, torch.zeros_like(pos)).cummax(dim=1).values

    score = torch.rand((rows, width), device=dev, generator=generator).masked_fill(~start, 2.0)
    rank = torch.empty_like(pos).scatter_(1, score.argsort(dim=1), pos)
    n_pick = (start.sum(1).float() * mask_prob).round().long().clamp(min=1)
    chosen = (start & (rank < n_pick[:, None])).gather(1, word_start) & ~special

    action = torch.rand((rows, width), device=dev, generator=generator).gather(1, word_start)
    random_ids = pool[torch.randint(len(pool), (rows, width), device=dev, generator=generator)]
    inputs = torch.where(chosen & (action < 0.8), torch.full_like(ids, MASK_ID), ids)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    return inputs, chosen


def mlm_loss(
    model: BertForMaskedLM, inputs: torch.Tensor, ids: torch.Tensor, chosen: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean cross-entropy over masked tokens, number predicted correctly), head on masked positions only."""
    hidden = model.bert(input_ids=inputs, attention_mask=(ids != PAD_ID).long()).last_hidden_state
    logits = model.cls(hidden[chosen]).float()
    target = ids[chosen]
    return F.cross_entropy(logits, target), (logits.argmax(-1) == target).sum()


@torch.no_grad()
def evaluate(
    model: BertForMaskedLM,
    split: CorpusSplit,
    pool: torch.Tensor,
    device: torch.device,
    batch_size: int,
    max_sequences: int,
) -> dict[str, float]:
    """Held-out MLM loss and masked-token accuracy; masks drawn on the CPU with a fixed seed, so every
    run (CPU or GPU) scores the same masked positions."""
    model.eval()
    gen = torch.Generator().manual_seed(EVAL_SEED)
    n = min(len(split), max_sequences)
    loss_sum = correct = masked = 0.0
    for a in range(0, n, batch_size):
        ids, cont, _ = split.batch(np.arange(a, min(a + batch_size, n)), 8 if device.type == "cuda" else 1)
        inputs, chosen = whole_word_mask(ids, cont, pool.cpu(), generator=gen)
        with _autocast(device):
            loss, right = mlm_loss(model, inputs.to(device), ids.to(device), chosen.to(device))
        k = int(chosen.sum())
        loss_sum += float(loss) * k
        correct += float(right)
        masked += k
    model.train()
    return {
        "loss": round(loss_sum / max(masked, 1), 4),
        "accuracy": round(correct / max(masked, 1), 4),
        "masked_tokens": int(masked),
        "sequences": n,
    }


def _autocast(device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


# ---------------------------------------------------------------- schedule


@dataclass
class LinearSchedule:
    """Linear warmup to 1, then linear decay from (anchor_step, anchor_factor) to 0 at `total`.

    Re-planning `total` (from measured throughput) moves the anchor to the current step, so the LR
    never jumps; only the first plan sets `warmup` (a fraction of the planned total).
    """

    warmup: int
    total: int
    anchor_step: int
    anchor_factor: float = 1.0
    planned: bool = True  # False only while a budgeted run has not measured its throughput yet

    def factor(self, step: int) -> float:
        """LR multiplier for optimizer step `step` (0-based)."""
        if step < self.anchor_step:
            return min(1.0, (step + 1) / self.warmup)
        if step >= self.total:
            return 0.0
        return self.anchor_factor * (self.total - step) / (self.total - self.anchor_step)

    def replan(self, step: int, total: int, warmup_fraction: float) -> None:
        current = self.factor(step)
        total = max(total, step + 1)
        if not self.planned:  # the provisional ramp was a placeholder: warm up over a fraction of the plan
            self.warmup = max(1, round(warmup_fraction * total))
            self.planned = True
            self.anchor_step, self.anchor_factor = max(self.warmup, step), 1.0
        elif step >= self.anchor_step:
            self.anchor_step, self.anchor_factor = step, current
        self.total = total


# ---------------------------------------------------------------- state + files


@dataclass
class Progress:
    """Where training stands; `epoch`/`cursor` locate the next batch in the seeded epoch permutation."""

    step: int = 0
    epoch: int = 0
    cursor: int = 0
    sequences_seen: int = 0
    tokens_seen: int = 0
    masked_tokens_seen: int = 0
    train_seconds: float = 0.0


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def export_fp16(model: BertForMaskedLM, out_dir: str | Path, max_shard_size: str = "15MB") -> None:
    """fp16 safetensors shards + config.json into out_dir (replacing it whole, keeping its metrics file).

    config.json says float32, so `from_pretrained(dir)` upcasts to fp32 by default. Raises if a file
    exceeds 16 MiB, the most one file may weigh to come back from the GPU machine.
    """
    out = Path(out_dir)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    half = copy.deepcopy(model).to(torch.float16)
    half.save_pretrained(partial, max_shard_size=max_shard_size)
    config_path = partial / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    too_big = [p.name for p in partial.iterdir() if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        raise ValueError(f"export files over 16 MiB: {too_big}")
    if (out / METRICS).exists():
        shutil.copy2(out / METRICS, partial / METRICS)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _hardware(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU {platform.machine()}",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "cpu_threads": torch.get_num_threads(),
        "bf16_autocast": device.type == "cuda",
    }
    if device.type == "cuda":
        info["cuda"] = torch.version.cuda
    return info


# ---------------------------------------------------------------- training


def pretrain(
    corpus: str | Path,
    output_dir: str | Path,
    preset: str = "base",
    *,
    max_minutes: float | None = None,
    max_steps: int | None = None,
    stop_after_steps: int | None = None,
    resume: bool = False,
    batch_size: int | None = None,
    lr: float = 5e-4,
    warmup_fraction: float = 0.06,
    weight_decay: float = 0.01,
    mask_prob: float = 0.15,
    checkpoint_minutes: float = 3.0,
    log_seconds: float = 15.0,
    eval_sequences: int = 2048,
    export_fp16_dir: str | Path | None = None,
    seed: int = 42,
    config_overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Pretrain (or resume) a BertForMaskedLM on a built corpus; returns the metrics also written as JSON.

    Total steps: `max_steps` if given, else one epoch; `max_minutes` re-plans it from measured
    throughput so the schedule ends on time (capped by `max_steps`). `stop_after_steps` ends this
    invocation early (checkpoint kept, schedule untouched). SIGTERM/SIGINT stop after the current
    step and still checkpoint, evaluate and save. Batch size defaults to 256 on CUDA, 16 on CPU.
    """
    t_begin = perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    export_dir = Path(export_fp16_dir) if export_fp16_dir else None
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_float32_matmul_precision("high")  # TF32 for what autocast leaves in fp32 on CUDA
    batch_size = batch_size or (256 if device.type == "cuda" else 16)
    multiple = 8 if device.type == "cuda" else 1

    train, heldout = CorpusSplit.load(corpus, "train"), CorpusSplit.load(corpus, "heldout")
    pool = replacement_pool(train.tokens).to(device)
    batch_size = min(batch_size, len(train))
    steps_per_epoch = len(train) // batch_size
    log(
        f"corpus {corpus}: {len(train):,} train sequences ({len(train.tokens):,} tokens), "
        f"{len(heldout):,} held out; batch {batch_size} -> {steps_per_epoch:,} steps/epoch on {device}"
    )

    config: BertConfig = bert_config(preset, **(config_overrides or {}))
    model = build_mlm(config, seed=seed).to(device)
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.98),
        eps=1e-6,
        fused=device.type == "cuda",
    )
    if max_minutes is not None:  # steps are planned from measured throughput; ~0 LR until then
        schedule = LinearSchedule(PROVISIONAL_WARMUP, max_steps or UNBOUNDED_STEPS, PROVISIONAL_WARMUP, planned=False)
    else:
        total = max_steps if max_steps is not None else steps_per_epoch
        warmup = max(1, round(warmup_fraction * total))
        schedule = LinearSchedule(warmup, total, warmup)
    progress = Progress()
    loss_curve: list[dict[str, float]] = []
    eval_curve: list[dict[str, float]] = []
    config_json = {k: v for k, v in json.loads(config.to_json_string()).items() if k != "transformers_version"}
    ckpt_path = out / CHECKPOINT
    resumed_from: int | None = None

    if resume:
        if not ckpt_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        if state["config"] != config_json:
            raise ValueError("--resume: the checkpoint was trained with another model configuration")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule = LinearSchedule(**state["schedule"])
        progress = Progress(**state["progress"])
        loss_curve, eval_curve = state["loss_curve"], state["eval_curve"]
        _set_rng_state(state["rng"])
        resumed_from = progress.step
        if max_steps is not None and max_steps != schedule.total:
            schedule.replan(progress.step, max_steps, warmup_fraction)
        log(f"resumed from step {progress.step} (epoch {progress.epoch}, cursor {progress.cursor})")
    else:
        torch.manual_seed(seed)

    def save_checkpoint() -> None:
        tmp = ckpt_path.with_name(CHECKPOINT + ".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "schedule": asdict(schedule),
                "progress": asdict(progress),
                "rng": _rng_state(),
                "config": config_json,
                "preset": preset,
                "loss_curve": loss_curve,
                "eval_curve": eval_curve,
            },
            tmp,
        )
        os.replace(tmp, ckpt_path)

    def metrics(final: bool, stopped_by: str, eval_result: dict[str, float] | None) -> dict[str, Any]:
        seconds = progress.train_seconds
        corpus_stats = Path(corpus) / STATS_FILE
        return {
            "final": final,
            "preset": preset,
            "config": config_json,
            "parameters": sum(p.numel() for p in model.parameters()),
            "hardware": _hardware(device),
            "corpus": {
                "dir": str(corpus),
                "train_sequences": len(train),
                "train_tokens": int(len(train.tokens)),
                "heldout_sequences": len(heldout),
                "stats": (
                    json.loads(corpus_stats.read_text(encoding="utf-8")).get("totals")
                    if corpus_stats.exists()
                    else None
                ),
            },
            "training": {
                "steps": progress.step,
                "planned_total_steps": schedule.total,
                "warmup_steps": schedule.warmup,
                "batch_size": batch_size,
                "peak_lr": lr,
                "weight_decay": weight_decay,
                "mask_prob": mask_prob,
                "max_minutes": max_minutes,
                "sequences_seen": progress.sequences_seen,
                "tokens_seen": progress.tokens_seen,
                "masked_tokens_seen": progress.masked_tokens_seen,
                "epochs": round(progress.sequences_seen / len(train), 3),
                "hours": round(seconds / 3600, 4),
                "sequences_per_second": round(progress.sequences_seen / seconds, 1) if seconds else None,
                "tokens_per_second": round(progress.tokens_seen / seconds) if seconds else None,
                "resumed_from_step": resumed_from,
                "stopped_by": stopped_by,
                "wall_seconds_this_run": round(perf_counter() - t_begin, 1),
            },
            "losses": {
                "train_last": loss_curve[-1]["loss"] if loss_curve else None,
                "eval": eval_result,
                "train_curve": loss_curve,
                "eval_curve": eval_curve,
            },
        }

    def write_metrics(data: dict[str, Any]) -> None:
        _atomic_json(out / METRICS, data)
        if export_dir is not None and export_dir.exists():
            _atomic_json(export_dir / METRICS, data)

    def checkpoint_all(stopped_by: str) -> None:
        save_checkpoint()
        if export_dir is not None:
            export_fp16(model, export_dir)
        result = evaluate(model, heldout, pool, device, batch_size, eval_sequences)
        eval_curve.append({"step": progress.step, **result})
        write_metrics(metrics(False, stopped_by, result))
        log(
            f"checkpoint at step {progress.step}: held-out loss {result['loss']:.3f}, accuracy {result['accuracy']:.3f}"
        )

    if export_dir is not None:
        export_fp16(model, export_dir)  # fail fast if the export does not work here

    stop = {"signal": None}
    handlers: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            handlers[sig] = signal.signal(sig, lambda s, _f: stop.update(signal=signal.Signals(s).name))

    model.train()
    perm = np.random.default_rng([seed, progress.epoch]).permutation(len(train))
    t_run = perf_counter()
    seconds_before = progress.train_seconds
    deadline = t_run + max_minutes * 60 if max_minutes is not None else None
    first_step = progress.step
    measure_from: tuple[float, int] | None = None  # (time, step) after the start-up steps
    planned_here = False
    last_log = last_ckpt = t_run
    running_loss = torch.zeros((), device=device)
    running_correct = torch.zeros((), device=device)
    running_masked = torch.zeros((), device=device, dtype=torch.long)
    running_steps, seqs_at_log, tokens_at_log = 0, progress.sequences_seen, progress.tokens_seen
    stopped_by = "schedule"
    diverged = False

    def sync_clock() -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        now = perf_counter()
        progress.train_seconds = seconds_before + now - t_run
        return now

    while progress.step < schedule.total:
        if stop["signal"]:
            stopped_by = stop["signal"]
            break
        if deadline is not None and perf_counter() >= deadline:
            stopped_by = "deadline"
            break
        if stop_after_steps is not None and progress.step - first_step >= stop_after_steps:
            stopped_by = "stop_after_steps"
            break
        if progress.cursor + batch_size > len(train):
            progress.epoch += 1
            progress.cursor = 0
            perm = np.random.default_rng([seed, progress.epoch]).permutation(len(train))
        idx = perm[progress.cursor : progress.cursor + batch_size]
        ids, cont, n_tokens = train.batch(idx, multiple)
        ids, cont = ids.to(device, non_blocking=True), cont.to(device, non_blocking=True)
        inputs, chosen = whole_word_mask(ids, cont, pool, mask_prob)
        with _autocast(device):
            loss, correct = mlm_loss(model, inputs, ids, chosen)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for group in optimizer.param_groups:
            group["lr"] = lr * schedule.factor(progress.step)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

        progress.step += 1
        progress.cursor += batch_size
        progress.sequences_seen += batch_size
        progress.tokens_seen += n_tokens
        running_loss += loss.detach()
        running_correct += correct
        running_masked += chosen.sum()
        running_steps += 1
        now = perf_counter()

        if deadline is not None:
            if measure_from is None and progress.step - first_step == 2:
                measure_from = (sync_clock(), progress.step)
            elif (
                measure_from is not None
                and progress.step - measure_from[1] >= 3
                and now - measure_from[0] >= min(5.0, 0.02 * max_minutes * 60)
                and (not planned_here or now - last_log >= log_seconds)
            ):
                now = sync_clock()
                per_step = (now - measure_from[0]) / (progress.step - measure_from[1])
                fit = progress.step + max(1, int((deadline - now) / per_step))
                schedule.replan(progress.step, min(fit, max_steps) if max_steps else fit, warmup_fraction)
                if not planned_here:
                    log(
                        f"measured {per_step * 1000:.0f} ms/step: planning {schedule.total:,} steps, warmup {schedule.warmup:,}"
                    )
                planned_here = True

        if now - last_log >= log_seconds or progress.step >= schedule.total:
            now = sync_clock()
            avg = float(running_loss) / running_steps
            acc = float(running_correct) / max(int(running_masked), 1)
            progress.masked_tokens_seen += int(running_masked)
            interval = max(now - last_log, 1e-9)
            seq_rate = (progress.sequences_seen - seqs_at_log) / interval
            tok_rate = (progress.tokens_seen - tokens_at_log) / interval
            factor = schedule.factor(progress.step)
            loss_curve.append(
                {
                    "step": progress.step,
                    "loss": round(avg, 4),
                    "accuracy": round(acc, 4),
                    "lr": lr * factor,
                    "seconds": round(progress.train_seconds, 1),
                }
            )
            left = f", {(deadline - now) / 60:.1f} min left" if deadline is not None else ""
            log(
                f"step {progress.step:,}/{schedule.total:,} | loss {avg:.4f} acc {acc:.3f} | lr {lr * factor:.2e} | "
                f"{seq_rate:,.1f} seq/s {tok_rate / 1000:,.1f}k tok/s | epoch {progress.sequences_seen / len(train):.2f} | "
                f"{(now - t_run) / 60:.1f} min{left}"
            )
            running_loss.zero_()
            running_correct.zero_()
            running_masked.zero_()
            running_steps, seqs_at_log, tokens_at_log, last_log = 0, progress.sequences_seen, progress.tokens_seen, now
            if not math.isfinite(avg):
                diverged = True
                stopped_by = "diverged"
                log("loss is not finite: stopping; the last checkpoint's weights are kept")
                break

        if now - last_ckpt >= checkpoint_minutes * 60 and progress.step < schedule.total:
            sync_clock()
            checkpoint_all("running")
            last_ckpt = perf_counter()

    sync_clock()
    if running_steps:
        progress.masked_tokens_seen += int(running_masked)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)

    if diverged and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        progress = Progress(**state["progress"])
    elif not diverged and progress.step > first_step:
        save_checkpoint()
    if export_dir is not None:
        export_fp16(model, export_dir)
    model.save_pretrained(out)
    tokenizer_from_vocab().save_pretrained(out)
    log(f"trained {progress.step - first_step:,} steps in this run ({stopped_by}); evaluating held-out MLM")
    result = evaluate(model, heldout, pool, device, batch_size, eval_sequences)
    eval_curve.append({"step": progress.step, **result})
    final = metrics(True, stopped_by, result)
    write_metrics(final)
    log(
        f"done: {progress.step:,} steps, {final['training']['epochs']} epochs, held-out loss {result['loss']:.4f} "
        f"accuracy {result['accuracy']:.4f}; model in {out}" + (f", fp16 export in {export_dir}" if export_dir else "")
    )
    return final


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Masked-LM pretraining with whole-word masking (see module docstring).")
    p.add_argument("--corpus", default=".device/corpus", help="folder written by training.corpus")
    p.add_argument("--preset", default="base", choices=["small", "base"])
    p.add_argument("--output-dir", required=True, help="checkpoint, fp32 model, tokenizer, metrics")
    p.add_argument(
        "--max-minutes",
        type=float,
        help="wall-clock budget of this run's training loop; the schedule is planned to end with it",
    )
    p.add_argument("--max-steps", type=int, help="total optimizer steps (default: one epoch, or the budget)")
    p.add_argument("--stop-after-steps", type=int, help="end this run after N steps, keeping the schedule")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint.pt")
    p.add_argument("--batch-size", type=int, help="sequences per step (default 256 on CUDA, 16 on CPU)")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup-fraction", type=float, default=0.06)
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--log-seconds", type=float, default=15.0)
    p.add_argument("--eval-sequences", type=int, default=2048, help="held-out sequences to score")
    p.add_argument("--export-fp16", help="folder for fp16 safetensors shards (<= 15 MB) + config")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args(argv)
    pretrain(
        a.corpus,
        a.output_dir,
        a.preset,
        max_minutes=a.max_minutes,
        max_steps=a.max_steps,
        stop_after_steps=a.stop_after_steps,
        resume=a.resume,
        batch_size=a.batch_size,
        lr=a.lr,
        warmup_fraction=a.warmup_fraction,
        checkpoint_minutes=a.checkpoint_minutes,
        log_seconds=a.log_seconds,
        eval_sequences=a.eval_sequences,
        export_fp16_dir=a.export_fp16,
        seed=a.seed,
        log=lambda s: print(s, flush=True),
    )


if __name__ == "__main__":
    main()
