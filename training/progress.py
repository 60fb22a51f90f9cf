"""What every training run shares: progress lines, a wall-clock budget, and resuming from checkpoints.

A session on a 2-core machine can end at any time: a run prints where it is, stops on time, and
`--resume` continues from the newest checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path

from transformers import TrainerCallback


class Progress(TrainerCallback):
    """One line per logging step (`[tag] step N/M Ts {...}`), and a stop when the time budget is spent."""

    def __init__(self, tag: str, max_minutes: float | None = None) -> None:
        self.tag = tag
        self.t0 = time.time()
        self.max_seconds = max_minutes * 60 if max_minutes else None

    def on_step_end(self, args, state, control, **kwargs):
        if self.max_seconds and time.time() - self.t0 > self.max_seconds:
            print(f"[{self.tag}] time budget reached at step {state.global_step}", flush=True)
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            shown = {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in logs.items()}  # lr 3e-5 stays visible
            print(f"[{self.tag}] step {state.global_step}/{state.max_steps} {time.time() - self.t0:.0f}s {shown}",
                  flush=True)


class SaveEvery(TrainerCallback):
    """A checkpoint every `minutes` of training, and one when a time budget stops the run (so that
    `resume` loses nothing); place it after `Progress`, which decides that stop."""

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60
        self.last = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        if time.time() - self.last >= self.seconds or control.should_training_stop:
            control.should_save = True
            self.last = time.time()


def last_checkpoint(ckpt_dir: Path) -> Path | None:
    """The newest `checkpoint-N` folder under `ckpt_dir`, if any."""
    if not ckpt_dir.exists():
        return None
    return max(ckpt_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]), default=None)
