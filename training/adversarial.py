"""Adversarial training on word embeddings (FGM, Miyato et al. 2017), as a Trainer mixin.

Each step also trains on the batch with the word-embedding matrix pushed `epsilon` along its loss
gradient (normalised): the model learns to tag the same sentence when its characters' vectors move a
little, a cheap regulariser reported to help Chinese NER. Twice the compute per step; no new weights.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import Trainer


class FgmMixin:
    """Put before a Trainer class (see with_fgm); `fgm_epsilon` is how far the embeddings move."""

    fgm_epsilon: float = 0.0

    def training_step(self, model: nn.Module, inputs: dict, num_items_in_batch: torch.Tensor | int | None = None) -> torch.Tensor:
        loss = super().training_step(model, inputs, num_items_in_batch)  # forward + backward, gradients kept
        weight = self.accelerator.unwrap_model(model).get_input_embeddings().weight
        grad = weight.grad
        if self.fgm_epsilon <= 0 or grad is None:
            return loss
        norm = torch.linalg.vector_norm(grad)
        if not torch.isfinite(norm) or norm == 0:
            return loss
        rows = grad.any(dim=-1).nonzero().squeeze(-1)  # the batch's characters: only their vectors move
        saved = weight.detach()[rows].clone()  # restored exactly, not by subtracting (float rounding)
        with torch.no_grad():
            weight[rows] += self.fgm_epsilon * grad[rows] / norm
        try:
            super().training_step(model, inputs, num_items_in_batch)  # its gradients add to the clean ones
        finally:
            with torch.no_grad():
                weight[rows] = saved
        return loss


def with_fgm(trainer_class: type[Trainer], epsilon: float) -> type[Trainer]:
    """`trainer_class` (the CRF trainer or the plain one) with FGM steps of size `epsilon`."""
    return type(f"Fgm{trainer_class.__name__}", (FgmMixin, trainer_class), {"fgm_epsilon": epsilon})
