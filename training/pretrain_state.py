"""Pretraining state and files: progress counters, RNG state, hardware summary, atomic JSON, fp16 export."""

from __future__ import annotations

import copy
import json
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import BertForMaskedLM

CHECKPOINT = "checkpoint.pt"
METRICS = "pretrain_metrics.json"


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


def atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def export_fp16(model: BertForMaskedLM, out_dir: str | Path, max_file_mb: float | None = None) -> None:
    """fp16 safetensors shards + config.json into out_dir (replacing it whole, keeping its metrics file).

    config.json says float32, so `from_pretrained(dir)` upcasts to fp32 by default. `max_file_mb` is the
    most one file may weigh (a transfer limit of the machine that trains, passed in by tools/): shards
    are cut below it, and a file that still exceeds it (one tensor larger than the limit) is an error.
    """
    out = Path(out_dir)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    half = copy.deepcopy(model).to(torch.float16)
    shard = {"max_shard_size": int(max_file_mb * 0.9 * 1_000_000)} if max_file_mb else {}
    half.save_pretrained(partial, **shard)
    config_path = partial / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    too_big = [p.name for p in partial.iterdir() if max_file_mb and p.stat().st_size > max_file_mb * 2**20]
    if too_big:
        raise ValueError(f"export files over {max_file_mb} MiB: {too_big}")
    if (out / METRICS).exists():
        shutil.copy2(out / METRICS, partial / METRICS)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def hardware(device: torch.device) -> dict[str, Any]:
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
