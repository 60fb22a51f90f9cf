"""`zhie bench`'s engine: every variant runs the same stages (NER + the shared relation head) on the same texts."""
from __future__ import annotations

import shutil

import pytest

from zhie.inference.benchmark import run_benchmark
from zhie.models.pair_head import PairHead, save_pair_head


@pytest.fixture(scope="module")
def tiny_joint_dir(tiny_ner_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "ner"
    shutil.copytree(tiny_ner_model_dir, out)
    save_pair_head(PairHead(32), out, {"project_amount": 0.5, "project_location": 0.5})
    return out


def test_every_variant_runs_the_one_pass_pipeline(tiny_joint_dir):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is an optional extra")
    texts = ["重庆新材料产业园项目落户两江新区，总投资6亿元。", "光伏项目签约。", "储能电站开工。"] * 3
    figures, outputs = run_benchmark(texts, tiny_joint_dir, with_bert_base=False, log=lambda _: None)
    assert figures["relations"] and figures["chars"] == sum(map(len, texts))
    assert [r["variant"] for r in figures["variants"]] == ["fp32", "int8", "onnx-int8"]
    for row in figures["variants"]:
        assert set(row["stage_share"]) == {"ner", "relations", "values", "projects"} and row["chars_per_s"] > 0
        assert [d.text for d in outputs[row["variant"]]] == texts
