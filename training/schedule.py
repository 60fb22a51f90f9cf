"""The pretraining learning-rate schedule, re-plannable when a time budget sets the number of steps."""

from __future__ import annotations

from dataclasses import dataclass

PROVISIONAL_WARMUP = 10**9  # before the first plan of a budgeted run: LR ~0 while throughput is measured
UNBOUNDED_STEPS = 10**12


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
