"""The optimised ONNX export (fused attention) gives torch's logits and keeps the `hidden` output the relation head reads."""
import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="ONNX Runtime is an optional extra (pip install zh-invest-ie[onnx])")


def test_optimised_export_matches_torch_and_fuses_attention(tiny_ner_model_dir, tmp_path):
    import onnx
    import onnxruntime as ort
    import torch
    from typer.testing import CliRunner

    from zhie.cli import app
    from zhie.models.ner import load_ner_model

    model_dir = tmp_path / "m"
    shutil.copytree(tiny_ner_model_dir, model_dir)
    r = CliRunner().invoke(app, ["export-onnx", str(model_dir), "--fp32", "--optimize"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in model_dir.glob("*.onnx")) == ["model.onnx"]  # no stage files left behind
    ops = {n.op_type for n in onnx.load(str(model_dir / "model.onnx")).graph.node}
    assert "Attention" in ops and "SkipLayerNormalization" in ops
    ids = np.array([[101, 2769, 1762, 7028, 3299, 102, 0, 0], [101, 4636, 2398, 102, 0, 0, 0, 0]], dtype=np.int64)
    mask = (ids != 0).astype(np.int64)
    with torch.inference_mode():
        out = load_ner_model(model_dir)(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                        output_hidden_states=True)
    session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, hidden = session.run(["logits", "hidden"], {"input_ids": ids, "attention_mask": mask})
    keep = mask.astype(bool)  # padded positions may differ: nothing reads them
    assert np.abs(logits[keep] - out.logits.numpy()[keep]).max() < 1e-3
    assert np.abs(hidden[keep] - out.hidden_states[-1].numpy()[keep]).max() < 1e-3
    from zhie.inference.backends import OnnxBackend

    assert not OnnxBackend.load(model_dir).scales_per_call  # fp32: windows may share a call

def test_optimised_int8_export_runs(tiny_ner_model_dir, tmp_path):
    from zhie.inference.backends import OnnxBackend
    from zhie.inference.onnx_export import export_onnx

    model_dir = tmp_path / "m"
    shutil.copytree(tiny_ner_model_dir, model_dir)
    export_onnx(model_dir, int8=True, optimize=True)
    ids = np.array([[101, 2769, 1762, 102]], dtype=np.int64)
    backend = OnnxBackend.load(model_dir)
    assert backend.scales_per_call  # int8 activations are scaled per call: the NER stage runs one window a call
    probs, hidden = backend.token_outputs(ids, np.ones_like(ids), hidden=True)
    assert probs.shape == (1, 4, 11) and np.allclose(probs.sum(-1), 1, atol=1e-4) and hidden.shape == (1, 4, 32)


def test_a_missing_export_says_how_to_make_the_fast_one(tiny_ner_model_dir, tmp_path):
    from typer.testing import CliRunner

    from zhie.cli import app

    article = tmp_path / "a.txt"
    article.write_text("重庆新建项目总投资6亿元。", encoding="utf-8")
    r = CliRunner().invoke(app, ["predict", str(article), "--model", str(tiny_ner_model_dir), "--backend", "onnx"])
    assert r.exit_code == 2 and "zhie export-onnx" in r.output and "--optimize" in r.output


def test_onnx_backend_without_onnxruntime_says_which_extra(tiny_ner_model_dir, tmp_path, monkeypatch):
    import sys

    from typer.testing import CliRunner

    from zhie.cli import app
    from zhie.inference.onnx_export import export_onnx

    model_dir = tmp_path / "m"
    shutil.copytree(tiny_ner_model_dir, model_dir)
    export_onnx(model_dir, int8=False)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    article = tmp_path / "a.txt"
    article.write_text("重庆新建项目总投资6亿元。", encoding="utf-8")
    r = CliRunner().invoke(app, ["predict", str(article), "--model", str(model_dir), "--backend", "onnx"])
    assert r.exit_code == 2 and "onnxruntime is not installed" in r.output and "zh-invest-ie[onnx]" in r.output
