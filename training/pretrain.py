"""Masked-LM pretraining of a compact Chinese BERT with whole-word masking, built for one GPU run.

Why it looks like this:
- The GPU machine has torch, numpy, transformers, safetensors and tokenizers (plus the carried wheels
  of pydantic and typer for the command line); this module and the modules it imports at load time
  (models.encoder, models.tokenizer, training.corpus_format, .mlm, .schedule, .pretrain_state) stay
  within the first set. The corpus arrives pre-tokenised with jieba word-continuation bits.
- `max_minutes` plans the total number of steps from the throughput measured over the first steps
  (and re-plans as it goes) so that the linear decay ends when the budget does; a checkpoint every few
  minutes (model, optimizer, schedule, step, RNG, data position) lets `resume` continue a run.
- `export_fp16` writes fp16 safetensors shards + config at the start (to fail fast), at every
  checkpoint and at the end, so that a run cut short still leaves loadable weights behind.

The command line is `zhie pretrain` (options: training.run_config.PretrainRunConfig).
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import BertConfig

from zhie.models.encoder import bert_config, build_mlm
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.corpus_format import STATS_FILE
from zhie.training.mlm import CorpusSplit, autocast, evaluate, mlm_loss, replacement_pool, whole_word_mask
from zhie.training.pretrain_state import (CHECKPOINT, METRICS, Progress, atomic_json, export_fp16, hardware,
                                          rng_state, set_rng_state)
from zhie.training.schedule import PROVISIONAL_WARMUP, UNBOUNDED_STEPS, LinearSchedule

if TYPE_CHECKING:  # pydantic is not needed to run the loop
    from zhie.training.run_config import PretrainRunConfig


def pretrain(
    config: PretrainRunConfig,
    *,
    config_overrides: dict[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Pretrain (or resume) a BertForMaskedLM on a built corpus; returns the metrics also written as JSON.

    Total steps: `max_steps` if given, else one epoch; `max_minutes` re-plans it from measured
    throughput so the schedule ends on time (capped by `max_steps`). `stop_after_steps` ends this
    invocation early (checkpoint kept, schedule untouched). SIGTERM/SIGINT stop after the current
    step and still checkpoint, evaluate and save. Batch size defaults to 256 on CUDA, 16 on CPU.
    The configuration is saved into the output folder (with the git revision) before step 0;
    `config_overrides` replace fields of the preset's BertConfig (tiny models in tests).
    """
    corpus, output_dir, preset = config.corpus, config.output_dir, config.preset
    max_minutes, max_steps, stop_after_steps = config.max_minutes, config.max_steps, config.stop_after_steps
    resume, batch_size, lr, seed = config.resume, config.batch_size, config.lr, config.seed
    warmup_fraction, weight_decay, mask_prob = config.warmup_fraction, config.weight_decay, config.mask_prob
    checkpoint_minutes, log_seconds = config.checkpoint_minutes, config.log_seconds
    eval_sequences, export_fp16_dir, max_file_mb = config.eval_sequences, config.export_fp16, config.export_max_file_mb
    t_begin = perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out)
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

    bert: BertConfig = bert_config(preset, **(config_overrides or {}))
    model = build_mlm(bert, seed=seed).to(device)
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
    config_json = {k: v for k, v in json.loads(bert.to_json_string()).items() if k != "transformers_version"}
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
        set_rng_state(state["rng"])
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
                "rng": rng_state(),
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
            "hardware": hardware(device),
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
        atomic_json(out / METRICS, data)
        if export_dir is not None and export_dir.exists():
            atomic_json(export_dir / METRICS, data)

    def checkpoint_all(stopped_by: str) -> None:
        save_checkpoint()
        if export_dir is not None:
            export_fp16(model, export_dir, max_file_mb)
        result = evaluate(model, heldout, pool, device, batch_size, eval_sequences)
        eval_curve.append({"step": progress.step, **result})
        write_metrics(metrics(False, stopped_by, result))
        log(
            f"checkpoint at step {progress.step}: held-out loss {result['loss']:.3f}, accuracy {result['accuracy']:.3f}"
        )

    if export_dir is not None:
        export_fp16(model, export_dir, max_file_mb)  # fail fast if the export does not work here

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
        with autocast(device):
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
        export_fp16(model, export_dir, max_file_mb)
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
