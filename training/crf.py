"""CRF training of the NER tagger (`zhie train ner --crf`): the loss is the CRF negative log-likelihood
of the gold tag path given the tagger's logits (emissions) and learned IOB2 transitions.

The CRF is a submodule (`model.crf`) while training, so its parameters are in the optimiser and in
every checkpoint and `--resume` restores them with the model's. At the end `detach_crf` moves the
learned scores into the config (zhie.models.crf.CONFIG_KEY): the saved folder is a plain
BertForTokenClassification that decodes with them.
"""
from __future__ import annotations

import torch
from torch import nn
from torchcrf import CRF
from transformers import PreTrainedModel, Trainer

from zhie.annotation.labels import BIO_TAGS
from zhie.models.crf import ALLOWED, CONFIG_KEY, START_OK, Transitions
from zhie.training.data import IGNORE

# For each tag, what an I-X becomes when nothing before it opens X: B-X (other tags stay).
_OPENING = torch.tensor([BIO_TAGS.index("B-" + t[2:]) if t.startswith("I-") else i for i, t in enumerate(BIO_TAGS)])


class IobCrf(CRF):
    """torchcrf's CRF (batch first) over our tags, started from `Transitions` (by default the IOB2 constraint).

    Forbidden moves start at FORBIDDEN and stay there: gold paths never take them (`compact` repairs
    the few that would), exp(FORBIDDEN) is 0 in the normaliser, so their gradient is exactly 0, and
    CrfTrainer exempts CRF parameters from weight decay.
    """

    def __init__(self, start: Transitions | None = None) -> None:
        self._init = start or Transitions.initial()
        super().__init__(len(BIO_TAGS), batch_first=True)

    def reset_parameters(self) -> None:
        """Called by CRF.__init__: the given transitions instead of torchcrf's uniform noise."""
        with torch.no_grad():
            for param, value in ((self.start_transitions, self._init.start), (self.end_transitions, self._init.end),
                                 (self.transitions, self._init.matrix)):
                param.copy_(torch.as_tensor(value, dtype=param.dtype))

    def learned(self) -> Transitions:
        """The current scores, as saved into the model config."""
        return Transitions(*(p.detach().double().cpu().numpy()
                             for p in (self.start_transitions, self.end_transitions, self.transitions)))


def compact(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each window's labelled tokens as a left-aligned sequence: (emissions, tags, mask), windows without
    labels left out.

    Labels are IGNORE at [CLS]/[SEP]/padding and, in score-once windows, outside the kept range; what is
    left is one contiguous run per window (checked), so the CRF chains exactly the scored tokens. A gold
    I-X that nothing opens (a word piece straddling an entity's start takes the tag of its first
    character, O) becomes B-X: a path the IOB2 constraint allows.
    """
    labelled = labels != IGNORE
    runs = labelled[:, 0].long() + (labelled[:, 1:] & ~labelled[:, :-1]).sum(dim=1)
    if (runs > 1).any():
        raise ValueError("a window's labelled tokens must be contiguous for the CRF")
    rows = labelled.any(dim=1)
    logits, labels, labelled = logits[rows], labels[rows], labelled[rows]
    count = labelled.sum(dim=1)
    steps = torch.arange(int(count.max()) if len(count) else 0, device=labels.device)
    index = (labelled.int().argmax(dim=1)[:, None] + steps).clamp(max=labels.size(1) - 1)
    mask = steps < count[:, None]
    emissions = logits.gather(1, index[..., None].expand(-1, -1, logits.size(-1)))
    tags = labels.gather(1, index).masked_fill(~mask, 0)
    return emissions, _repair(tags, mask), mask


def _repair(tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gold paths that the IOB2 constraint allows: an I-X without an opening B-X/I-X before it becomes B-X.

    One pass suffices: B-X and I-X allow the same next tags.
    """
    allowed, start_ok = torch.as_tensor(ALLOWED, device=tags.device), torch.as_tensor(START_OK, device=tags.device)
    bad = torch.cat([~start_ok[tags[:, :1]], ~allowed[tags[:, :-1], tags[:, 1:]] & mask[:, 1:]], dim=1)
    return torch.where(bad, _OPENING.to(tags.device)[tags], tags)


def crf_loss(crf: CRF, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood per labelled token (the scale of the cross-entropy it replaces)."""
    emissions, tags, mask = compact(logits, labels)
    if not mask.numel():
        return logits.sum() * 0.0
    return -crf(emissions.float(), tags, mask=mask, reduction="token_mean")


class CrfTrainer(Trainer):
    """A Trainer whose loss is the CRF's; `model.crf` (see attach_crf) trains with the model, without weight decay."""

    loss_is_scaled_for_ga = False  # a mean over one batch's tokens: the Trainer divides it for gradient accumulation

    def compute_loss(self, model: nn.Module, inputs: dict, return_outputs: bool = False,
                     num_items_in_batch: torch.Tensor | int | None = None):
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = crf_loss(self.accelerator.unwrap_model(model).crf, outputs.logits, labels)
        return (loss, outputs) if return_outputs else loss

    def get_decay_parameter_names(self, model: nn.Module) -> list[str]:
        return [n for n in super().get_decay_parameter_names(model) if not n.startswith("crf.")]


def attach_crf(model: PreTrainedModel, start: Transitions | None = None) -> IobCrf:
    """Give the tagger a CRF submodule (on the model's device) starting from `start` (default: the IOB2 constraint)."""
    model.crf = IobCrf(start).to(model.device)
    return model.crf


def detach_crf(model: PreTrainedModel) -> Transitions:
    """Move the learned transitions into the model's config and drop the submodule, so save_pretrained
    writes a plain BertForTokenClassification whose config.json carries them."""
    learned = model.crf.learned()
    setattr(model.config, CONFIG_KEY, learned.to_config())
    del model.crf
    return learned
