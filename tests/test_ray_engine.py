"""`zhie predict --engine ray` writes exactly what the in-process path writes (Ray is an optional extra)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from zhie.cli import app

pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'zh-invest-ie[ray]'")

ARTICLES = ["2024年3月，青川县新能源装备产业园项目签约，总投资18.5亿元。",
            "重庆两江新区与星河公司签约，建设智能制造基地项目，计划投资6亿元。",
            "无关的一句话。", "😀 English only text, 2025."]


def _run_both(src, tmp_path, monkeypatch, *options: str):
    """`zhie predict` in-process and on Ray with the same options: (local output, Ray output, Ray's CLI output)."""
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    runner = CliRunner()
    common = ["predict", str(src), "--no-relations", *options]
    local = runner.invoke(app, [*common, "-o", str(tmp_path / "local.jsonl")])
    ray_run = runner.invoke(app, [*common, "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray"])
    import ray

    ray.shutdown()
    assert local.exit_code == 0 and ray_run.exit_code == 0, ray_run.output
    return ((tmp_path / "local.jsonl").read_text(encoding="utf-8"), (tmp_path / "ray.jsonl").read_text(encoding="utf-8"),
            ray_run.output)


def test_ray_engine_output_is_identical_to_the_local_path(tiny_ner_model_dir, tmp_path, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"a{i}", "text": t, "source": "test"}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(ARTICLES)) + "{broken\n", encoding="utf-8")
    local, got, output = _run_both(src, tmp_path, monkeypatch, "--model", str(tiny_ner_model_dir),
                                   "--batch-size", "2", "--workers", "1")
    assert got == local
    assert [json.loads(x)["id"] for x in got.splitlines()] == ["a0", "a1", "a2", "a3"]
    assert "rejected 1" in output  # the bad line is reported, as in the local path


def test_ray_batches_are_the_local_batches_so_int8_scores_match(tiny_ner_model_dir, tmp_path, monkeypatch):
    """Dynamic int8 scales activations per encoder batch, so an article's scores depend on its batch-mates:
    Ray must run the in-process path's batches whole, wherever its blocks end (Ray Data cuts at least 200
    blocks from a list: 420 records make blocks of 2 and 3, which batches of 7 straddle)."""
    texts = [ARTICLES[i % 2][: 12 + (7 * i) % 29] + "。" * (i % 5) for i in range(420)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"a{i}", "text": t}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(texts)), encoding="utf-8")
    local, got, _ = _run_both(src, tmp_path, monkeypatch, "--model", str(tiny_ner_model_dir), "--quantize",
                              "--batch-size", "7", "--workers", "2")
    assert len(got.splitlines()) == len(texts) and got == local
