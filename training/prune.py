"""Width-prune a BERT token classifier into a smaller one: fewer hidden channels, attention heads and
feed-forward neurons, the ones that carry the least on real windows dropped (activation importance, as
NVIDIA's Minitron prunes before distilling).

Why: a student of hidden size 256 started from random weights (or from the teacher's embeddings
projected by PCA) learns slowly — two GPU minutes of distillation left one at dev F1 0.67 — while the
teacher's own first layers, copied, gave a student within a point. Pruning keeps that head start for
a narrower model: every weight the student keeps is the trained model's own, so distillation only has
to repair what the removed channels did.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from transformers import PreTrainedModel

from zhie.annotation.records import Document
from zhie.models.lexicon import uses_lexicon
from zhie.models.ner import build_ner_model, load_ner_model
from zhie.models.tokenizer import load_tokenizer
from zhie.training.data import tokenise_documents

CALIBRATION_WINDOWS = 256  # real windows whose activations rank what a pruned model keeps


@dataclass
class Importance:
    """Mean absolute activation per hidden channel (over every LayerNorm output), per attention head
    (L2 norm of its context vector) and per feed-forward neuron (after the activation), per layer."""

    hidden: torch.Tensor  # (hidden,)
    heads: list[torch.Tensor]  # per layer: (heads,)
    neurons: list[torch.Tensor]  # per layer: (intermediate,)


@torch.no_grad()
def importance(model: PreTrainedModel, batches: Iterable[dict[str, torch.Tensor]]) -> Importance:
    """Activation statistics of `model` over `batches` (input_ids, attention_mask, token_type_ids), padding
    excluded."""
    cfg = model.config
    n_heads, head_dim = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    layers = model.bert.encoder.layer
    hidden = torch.zeros(cfg.hidden_size)
    heads = [torch.zeros(n_heads) for _ in layers]
    neurons = [torch.zeros(cfg.intermediate_size) for _ in layers]
    mask: list[torch.Tensor] = []  # the current batch's token mask, read by the hooks

    def masked_sum(x: torch.Tensor) -> torch.Tensor:
        return (x * mask[0][..., None]).sum((0, 1))

    def on_norm(_module, _inputs, out):
        hidden.add_(masked_sum(out.abs().float()))

    def on_context(i):
        def hook(_module, inputs):
            ctx = inputs[0].float()
            heads[i].add_(masked_sum(ctx.view(*ctx.shape[:2], n_heads, head_dim).norm(dim=-1)))
        return hook

    def on_ffn(i):
        def hook(_module, _inputs, out):
            neurons[i].add_(masked_sum(out.abs().float()))
        return hook

    norms = [model.bert.embeddings.LayerNorm] + [m for layer in layers
                                                 for m in (layer.attention.output.LayerNorm, layer.output.LayerNorm)]
    handles = [m.register_forward_hook(on_norm) for m in norms]
    for i, layer in enumerate(layers):
        handles.append(layer.attention.output.dense.register_forward_pre_hook(on_context(i)))
        handles.append(layer.intermediate.register_forward_hook(on_ffn(i)))
    model.eval()
    try:
        for batch in batches:
            mask[:] = [batch["attention_mask"].float()]
            model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                  token_type_ids=batch.get("token_type_ids"))
    finally:
        for h in handles:
            h.remove()
    return Importance(hidden, heads, neurons)


def _top(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k largest scores, in their original order (kept channels keep their order)."""
    if not 0 < k <= len(scores):
        raise ValueError(f"cannot keep {k} of {len(scores)}")
    return torch.topk(scores, k).indices.sort().values


def prune(model: PreTrainedModel, imp: Importance, hidden: int, heads: int, intermediate: int,
          layers: int | None = None) -> tuple[PreTrainedModel, dict]:
    """A new model of `layers` (the first ones; default all) layers, `hidden` channels, `heads` heads of
    the same size and `intermediate` neurons, holding the most important slices of `model`'s weights;
    and a summary of what was kept. The config's extras (CRF transitions, lexicon features) carry over."""
    cfg = model.config
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    n_layers = layers or cfg.num_hidden_layers
    if n_layers > cfg.num_hidden_layers:
        raise ValueError(f"cannot keep {n_layers} of {cfg.num_hidden_layers} layers")
    if heads * head_dim != hidden:
        raise ValueError(f"{heads} heads of {head_dim} do not make hidden size {hidden}")
    ch = _top(imp.hidden, hidden)
    new_cfg = copy.deepcopy(cfg)
    new_cfg.update({"hidden_size": hidden, "num_attention_heads": heads, "intermediate_size": intermediate,
                    "num_hidden_layers": n_layers})
    student = build_ner_model(new_cfg)
    src, dst = model.state_dict(), student.state_dict()
    out: dict[str, torch.Tensor] = {}
    emb = "bert.embeddings."
    for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        out[f"{emb}{name}.weight"] = src[f"{emb}{name}.weight"][:, ch]
    out[f"{emb}LayerNorm.weight"], out[f"{emb}LayerNorm.bias"] = src[f"{emb}LayerNorm.weight"][ch], src[f"{emb}LayerNorm.bias"][ch]
    kept_heads = []
    for i in range(n_layers):
        p = f"bert.encoder.layer.{i}."
        hs = _top(imp.heads[i], heads)
        kept_heads.append(hs.tolist())
        dims = (hs[:, None] * head_dim + torch.arange(head_dim)).flatten()
        ff = _top(imp.neurons[i], intermediate)
        for proj in ("query", "key", "value"):
            out[f"{p}attention.self.{proj}.weight"] = src[f"{p}attention.self.{proj}.weight"][dims][:, ch]
            out[f"{p}attention.self.{proj}.bias"] = src[f"{p}attention.self.{proj}.bias"][dims]
        out[f"{p}attention.output.dense.weight"] = src[f"{p}attention.output.dense.weight"][ch][:, dims]
        out[f"{p}intermediate.dense.weight"] = src[f"{p}intermediate.dense.weight"][ff][:, ch]
        out[f"{p}intermediate.dense.bias"] = src[f"{p}intermediate.dense.bias"][ff]
        out[f"{p}output.dense.weight"] = src[f"{p}output.dense.weight"][ch][:, ff]
        for block in ("attention.output", "output"):
            out[f"{p}{block}.dense.bias"] = src[f"{p}{block}.dense.bias"][ch]
            out[f"{p}{block}.LayerNorm.weight"] = src[f"{p}{block}.LayerNorm.weight"][ch]
            out[f"{p}{block}.LayerNorm.bias"] = src[f"{p}{block}.LayerNorm.bias"][ch]
    out["classifier.weight"], out["classifier.bias"] = src["classifier.weight"][:, ch], src["classifier.bias"]
    missing = sorted(set(dst) - set(out))
    if missing:
        raise ValueError(f"pruning does not know these weights of the model: {missing[:5]}")
    student.load_state_dict({k: v.clone() for k, v in out.items()}, strict=True)
    student.eval()  # like a loaded model; Trainer switches it to training
    kept = float(imp.hidden[ch].sum() / imp.hidden.sum())
    return student, {"method": "prune", "layers": n_layers, "hidden": hidden, "heads": kept_heads,
                     "intermediate": intermediate, "hidden_importance_kept": round(kept, 4)}


def calibration_batches(windows: Dataset, tokenizer, n: int = CALIBRATION_WINDOWS,
                        batch_size: int = 32) -> list[dict[str, torch.Tensor]]:
    """`n` of the `windows` (sorted by length) spread over all lengths, padded by `tokenizer` into batches
    for `importance`."""
    picked = windows.select(np.unique(np.linspace(0, len(windows) - 1, min(n, len(windows))).round().astype(int)))
    rows = list(picked.select_columns([c for c in ("input_ids", "token_type_ids") if c in windows.column_names]))
    return [dict(tokenizer.pad(rows[b:b + batch_size], return_tensors="pt")) for b in range(0, len(rows), batch_size)]


def prune_saved_model(source: Path, docs: Sequence[Document], hidden: int | None = None, heads: int | None = None,
                      intermediate: int | None = None, layers: int | None = None,
                      calibration: int = CALIBRATION_WINDOWS) -> tuple[PreTrainedModel, dict]:
    """The NER model saved at `source`, width-pruned by its activations on windows of `docs` (the training
    text: what it will be fine-tuned on next). Sizes left out keep the model's own."""
    model = load_ner_model(source).float()
    cfg = model.config
    hidden = hidden or cfg.hidden_size
    heads = heads or (cfg.num_attention_heads if hidden == cfg.hidden_size else max(1, hidden // 64))
    tokenizer = load_tokenizer(source)
    windows = tokenise_documents(docs, tokenizer, lexicon=uses_lexicon(cfg))
    windows = windows.map(lambda b: {"length": [len(x) for x in b["input_ids"]]}, batched=True).sort("length")
    imp = importance(model, calibration_batches(windows, tokenizer, calibration))
    student, info = prune(model, imp, hidden, heads, intermediate or cfg.intermediate_size, layers)
    return student, {**info, "source": str(source), "calibration_windows": min(calibration, len(windows))}
