"""int8 is the default precision where torch can run it, and an article's int8 output does not depend on the
articles predicted beside it (dynamic int8 scales activations per encoder call: a call holds one article's windows)."""
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zhie.cli import app
from zhie.inference import Extractor
from zhie.inference import backends

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")
# batch-mates unlike the article: full-width digits, Latin names, long numbers, a list of places
OTHERS = ["２０２４年１２月，华芯集团在西安高新区签约投资１２０亿美元建设半导体材料基地项目。" * 3,
          "ABC Holdings Ltd.与XYZ公司签署合作协议，金额约为3,500,000,000元人民币，项目落户广州、深圳、佛山、东莞。"]
needs_int8 = pytest.mark.skipif(not backends.int8_available(), reason="this torch build has no quantized engine")


@needs_int8
def test_int8_token_outputs_do_not_depend_on_batch_mates():
    ex = Extractor.load(quantize=True, relations=False, values=False)  # the bundled model
    alone = ex.ner.encode([ARTICLE], hidden=True)[0]
    beside = ex.ner.encode([OTHERS[0], ARTICLE, OTHERS[1]], hidden=True)[1]
    assert np.array_equal(alone.probs, beside.probs) and np.array_equal(alone.hidden, beside.hidden)


@needs_int8
def test_int8_records_do_not_depend_on_batch_mates():
    ex = Extractor.load()  # the bundled model and its relation head, in the default precision (int8)
    alone = ex.predict_batch([ARTICLE], ids=["a"])[0]
    beside = ex.predict_batch([OTHERS[0], ARTICLE, OTHERS[1]], ids=["x", "a", "y"])[1]
    assert alone.entities and alone.relations
    assert alone.model_dump() == beside.model_dump()


@needs_int8
def test_default_precision_is_int8_and_fp32_is_one_option_away(tiny_ner_model_dir):
    default = Extractor.load(tiny_ner_model_dir, relations=False, values=False)
    fp32 = Extractor.load(tiny_ner_model_dir, quantize=False, relations=False, values=False)
    assert default.ner.backend.name == "torch-int8" and default.model_version.endswith("-int8")
    assert fp32.ner.backend.name == "torch-fp32" and not fp32.model_version.endswith("-int8")
    assert default.ner.backend.scales_per_call and not fp32.ner.backend.scales_per_call


def test_without_a_quantized_engine_the_default_is_fp32_and_int8_is_refused(tiny_ner_model_dir, monkeypatch):
    monkeypatch.setattr(backends, "int8_available", lambda: False)
    assert Extractor.load(tiny_ner_model_dir, relations=False, values=False).ner.backend.name == "torch-fp32"
    with pytest.raises(ValueError, match="no quantized engine.*--no-quantize"):
        Extractor.load(tiny_ner_model_dir, quantize=True, relations=False, values=False)


@needs_int8
def test_cli_predicts_in_int8_by_default_and_in_fp32_with_no_quantize(tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    runner = CliRunner()
    got = {}
    for name, flags in (("default", []), ("fp32", ["--no-quantize"])):
        r = runner.invoke(app, ["predict", str(article), "-o", str(tmp_path / f"{name}.jsonl"), *flags])
        assert r.exit_code == 0, r.output
        got[name] = json.loads((tmp_path / f"{name}.jsonl").read_text(encoding="utf-8"))
    for name, quantize in (("default", True), ("fp32", False)):
        want = Extractor.load(quantize=quantize).predict(ARTICLE, id="a").model_dump(mode="json", exclude_none=True)
        assert got[name]["entities"] == want["entities"] and got[name]["relations"] == want["relations"]
    assert got["default"]["entities"] != got["fp32"]["entities"]  # the precisions differ in their scores at least
