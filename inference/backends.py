"""Model backends: one small interface for running a token classifier, whatever executes it.

The NER stage only needs per-token tag probabilities for a padded batch of windows. Hiding how
they are computed (torch fp32, torch dynamic int8, ONNX Runtime) behind `TokenBackend` lets a
faster runtime replace another without touching windowing, decoding or the later stages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from zhie.models.allocator import keep_freed_memory
from zhie.models.ner import load_ner_model

ONNX_FILE = "model.onnx"
HIDDEN_OUTPUT = "hidden"  # the exported last hidden states
TYPES_INPUT = "token_type_ids"  # exported only for a model that reads lexicon features


class TokenBackend(Protocol):
    """Per-token probabilities over the model's tags for (batch, width) int64 inputs, and, when asked,
    the encoder's last hidden states (batch, width, hidden) that the shared relation head reads.
    `token_type_ids` carries a lexicon model's features (zhie.models.lexicon); None = all zeros."""

    name: str
    num_labels: int
    hidden_size: int

    def token_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, hidden: bool = False,
                      token_type_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]: ...


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class TorchBackend:
    """A transformers token classifier in torch; `quantize` applies dynamic int8 to nn.Linear (faster on CPU)."""

    def __init__(self, model: torch.nn.Module, quantize: bool = False) -> None:
        keep_freed_memory()
        model = model.eval()
        self.num_labels = int(model.config.num_labels)
        self.hidden_size = int(model.config.hidden_size)
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.name = "torch-int8" if quantize else "torch-fp32"

    @classmethod
    def load(cls, model_dir: str | Path, quantize: bool = False) -> "TorchBackend":
        return cls(load_ner_model(model_dir), quantize=quantize)

    @torch.inference_mode()
    def token_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, hidden: bool = False,
                      token_type_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        types = None if token_type_ids is None else torch.from_numpy(token_type_ids)
        out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask),
                         token_type_ids=types, output_hidden_states=hidden)
        states = out.hidden_states[-1].float().numpy() if hidden else None
        return torch.softmax(out.logits.float(), -1).numpy(), states


class OnnxBackend:
    """An exported token classifier run by ONNX Runtime (`zhie.inference.onnx_export` writes the file)."""

    def __init__(self, onnx_path: str | Path, num_labels: int, hidden_size: int, threads: int | None = None) -> None:
        import onnxruntime as ort  # optional extra: only needed when this backend is chosen

        keep_freed_memory()
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        # ORT's idle threads spin after each run by default, taking the cores from the stages that follow
        # (the relation head, values): without spinning, p50 latency per article fell from 8.5-14 to 6-8 ms
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.num_labels, self.hidden_size = num_labels, hidden_size
        self.name = f"onnxruntime:{Path(onnx_path).name}"
        self.has_hidden = HIDDEN_OUTPUT in {o.name for o in self.session.get_outputs()}
        self.has_types = TYPES_INPUT in {i.name for i in self.session.get_inputs()}

    @classmethod
    def load(cls, model_dir: str | Path, onnx_file: str = ONNX_FILE) -> "OnnxBackend":
        from transformers import AutoConfig

        path = Path(model_dir) / onnx_file
        if not path.exists():
            raise FileNotFoundError(f"no {onnx_file} in {model_dir}: run `zhie export-onnx {model_dir}` first")
        config = AutoConfig.from_pretrained(str(model_dir))
        return cls(path, config.num_labels, config.hidden_size)

    def token_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, hidden: bool = False,
                      token_type_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        if hidden and not self.has_hidden:
            raise ValueError(f"{self.name} has no `{HIDDEN_OUTPUT}` output: re-export it with `zhie export-onnx`")
        if token_type_ids is not None and not self.has_types:
            raise ValueError(f"{self.name} has no `{TYPES_INPUT}` input but the model reads lexicon features: "
                             "re-export it with `zhie export-onnx`")
        names = ["logits", HIDDEN_OUTPUT] if hidden else ["logits"]
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.has_types:
            feeds[TYPES_INPUT] = token_type_ids if token_type_ids is not None else np.zeros_like(input_ids)
        out = self.session.run(names, feeds)
        return _softmax(out[0].astype(np.float32)), (out[1].astype(np.float32) if hidden else None)
