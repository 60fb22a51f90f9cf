"""Model backends: one small interface for running a token classifier, whatever executes it.

The NER stage only needs per-token tag probabilities for a padded batch of windows. Hiding how
they are computed (torch fp32, torch dynamic int8, ONNX Runtime) behind `TokenBackend` lets a
faster runtime replace another without touching windowing, decoding or the later stages.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from zhie.models.allocator import keep_freed_memory
from zhie.models.ner import load_ner_model

ONNX_FILE = "model.onnx"
# ONNX Runtime ops that quantise their activations at run time, one scale per call (`quantize_dynamic`'s output)
DYNAMIC_INT8_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention"})
HIDDEN_OUTPUT = "hidden"  # the exported last hidden states
TYPES_INPUT = "token_type_ids"  # exported only for a model that reads lexicon features


class TokenBackend(Protocol):
    """Per-token probabilities over the model's tags for (batch, width) int64 inputs, and, when asked,
    the encoder's last hidden states (batch, width, hidden) that the shared relation head reads.
    `token_type_ids` carries a lexicon model's features (zhie.models.lexicon); None = all zeros."""

    name: str
    num_labels: int
    hidden_size: int
    # Dynamic int8 quantises a call's activations with one scale for the whole call, so a window's outputs
    # would depend on the windows beside it; such a backend is given one text's windows per call (zhie.inference.ner).
    scales_per_call: bool

    def token_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, hidden: bool = False,
                      token_type_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]: ...


def int8_available() -> bool:
    """Whether this torch build can run dynamic int8 here: a quantized engine for this CPU (x86/fbgemm/onednn,
    qnnpack on ARM) and `torch.ao.quantization`, which torch has deprecated in favour of torchao."""
    try:
        from torch.ao.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return torch.backends.quantized.engine != "none"


def resolve_quantize(quantize: bool | None) -> bool:
    """`None` (the default everywhere) means int8 wherever torch can run it: on two cores it read 2.0-2.8x
    as many characters a second as fp32 with the same dev F1 (docs/BENCHMARKS.md, 2026-12-05)."""
    if quantize is None:
        return int8_available()
    if quantize and not int8_available():
        raise ValueError("this torch build has no quantized engine for this CPU: run in fp32 (--no-quantize)")
    return quantize


def int8_linears(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with dynamic int8 in every nn.Linear: int8 weights, activations scaled per call."""
    with warnings.catch_warnings():
        # torch 2.13 warns, once per process, that its quantized tensor types are deprecated; dynamic int8
        # still runs (and int8_available says no where it cannot), and the CLI should not print the warning
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class TorchBackend:
    """A transformers token classifier in torch; `quantize` applies dynamic int8 to nn.Linear (faster on CPU;
    `None`: wherever torch supports it, see resolve_quantize)."""

    def __init__(self, model: torch.nn.Module, quantize: bool | None = None) -> None:
        keep_freed_memory()
        model = model.eval()
        self.num_labels = int(model.config.num_labels)
        self.hidden_size = int(model.config.hidden_size)
        quantize = resolve_quantize(quantize)
        if quantize:
            model = int8_linears(model)
        self.model = model
        self.scales_per_call = quantize
        self.name = "torch-int8" if quantize else "torch-fp32"

    @classmethod
    def load(cls, model_dir: str | Path, quantize: bool | None = None) -> "TorchBackend":
        return cls(load_ner_model(model_dir), quantize=quantize)

    @torch.inference_mode()
    def token_outputs(self, input_ids: np.ndarray, attention_mask: np.ndarray, hidden: bool = False,
                      token_type_ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        types = None if token_type_ids is None else torch.from_numpy(token_type_ids)
        out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask),
                         token_type_ids=types, output_hidden_states=hidden)
        states = out.hidden_states[-1].float().numpy() if hidden else None
        return torch.softmax(out.logits.float(), -1).numpy(), states


def _quantizes_activations(onnx_path: str | Path) -> bool:
    """Whether the exported graph quantises activations at run time (an int8 export of `zhie export-onnx`)."""
    import onnx  # the `onnx` extra installs it beside onnxruntime

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return any(node.op_type in DYNAMIC_INT8_OPS for node in graph.node)


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
        self.scales_per_call = _quantizes_activations(onnx_path)

    @classmethod
    def load(cls, model_dir: str | Path, onnx_file: str = ONNX_FILE) -> "OnnxBackend":
        from transformers import AutoConfig

        path = Path(model_dir) / onnx_file
        if not path.exists():
            raise FileNotFoundError(f"no {onnx_file} in {model_dir}: run `zhie export-onnx {model_dir} --optimize` first "
                                    "(fused attention and int8: the fastest export)")
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
