"""Export a saved NER model to ONNX (optionally graph-optimised, optionally int8) for `OnnxBackend`."""
from __future__ import annotations

from pathlib import Path

import torch

from zhie.inference.backends import HIDDEN_OUTPUT, ONNX_FILE, TYPES_INPUT
from zhie.models.lexicon import uses_lexicon
from zhie.models.ner import load_ner_model


class _Outputs(torch.nn.Module):
    """The exporter wants tensors out, not a ModelOutput: the logits and the last hidden states."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                         output_hidden_states=True)
        return out.logits, out.hidden_states[-1]


def optimize_graph(src: Path, dst: Path, num_heads: int, hidden_size: int) -> None:
    """ONNX Runtime's BERT optimiser: fused embedding, attention, GELU and layer-norm kernels, the
    measured gain over plain ORT on CPU (it fuses attention only in an eager-attention export)."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size).save_model_to_file(str(dst))


def export_onnx(model_dir: str | Path, int8: bool = True, optimize: bool = False, onnx_file: str = ONNX_FILE) -> Path:
    """Write `model_dir/onnx_file`; `optimize` runs ORT's BERT optimiser on the graph, then `int8`
    stores dynamic int8 weights (smaller, faster on CPU)."""
    model_dir = Path(model_dir)
    model = load_ner_model(model_dir)
    model.config._attn_implementation = "eager"  # ONNX Runtime fuses eager attention only
    wrapper = _Outputs(model).eval()  # the exporter restores the wrapper's mode recursively: set it
    dummy = torch.ones((2, 16), dtype=torch.long)
    inputs = ["input_ids", "attention_mask"] + ([TYPES_INPUT] if uses_lexicon(model.config) else [])
    out = model_dir / onnx_file
    graph = out.with_suffix(".fp32.onnx") if int8 or optimize else out
    torch.onnx.export(wrapper, (dummy,) * len(inputs), str(graph), input_names=inputs,
                      output_names=["logits", HIDDEN_OUTPUT],
                      dynamic_axes={name: {0: "batch", 1: "seq"} for name in (*inputs, "logits", HIDDEN_OUTPUT)},
                      opset_version=17, dynamo=False)
    if optimize:
        fused = out.with_suffix(".opt.onnx") if int8 else out
        optimize_graph(graph, fused, model.config.num_attention_heads, model.config.hidden_size)
        graph.unlink()
        graph = fused
    if int8:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # the fused contrib operators carry no type information the quantiser can infer: say it is float
        extra = {"DefaultTensorType": onnx.TensorProto.FLOAT} if optimize else {}
        quantize_dynamic(str(graph), str(out), weight_type=QuantType.QInt8, extra_options=extra)
        graph.unlink()
    return out
