"""Export a saved NER model to ONNX (optionally int8) so `OnnxBackend` can run it without torch overhead."""
from __future__ import annotations

from pathlib import Path

import torch

from zhie.inference.backends import ONNX_FILE
from zhie.models.ner import load_ner_model


class _Logits(torch.nn.Module):
    """The exporter wants tensors out, not a ModelOutput."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def export_onnx(model_dir: str | Path, int8: bool = True, onnx_file: str = ONNX_FILE) -> Path:
    """Write `model_dir/onnx_file`; with `int8`, dynamic int8 weights (smaller, faster on CPU)."""
    model_dir = Path(model_dir)
    model = load_ner_model(model_dir)
    model.config._attn_implementation = "eager"  # ONNX Runtime fuses eager attention only
    wrapper = _Logits(model).eval()  # the exporter restores the wrapper's mode recursively: set it
    dummy = torch.ones((2, 16), dtype=torch.long)
    out = model_dir / onnx_file
    fp32 = out.with_suffix(".fp32.onnx") if int8 else out
    torch.onnx.export(wrapper, (dummy, dummy), str(fp32), input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                                             "attention_mask": {0: "batch", 1: "seq"},
                                                             "logits": {0: "batch", 1: "seq"}},
                      opset_version=17, dynamo=False)
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)
        fp32.unlink()
    return out
