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


def test_ray_engine_output_is_identical_to_the_local_path(tiny_ner_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"a{i}", "text": t, "source": "test"}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(ARTICLES)) + "{broken\n", encoding="utf-8")
    runner = CliRunner()
    common = ["predict", str(src), "--model", str(tiny_ner_model_dir), "--no-relations", "--batch-size", "2"]
    local = runner.invoke(app, [*common, "-o", str(tmp_path / "local.jsonl")])
    ray_run = runner.invoke(app, [*common, "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--workers", "1"])
    import ray

    ray.shutdown()
    assert local.exit_code == 0 and ray_run.exit_code == 0, ray_run.output
    got = (tmp_path / "ray.jsonl").read_text(encoding="utf-8")
    assert got == (tmp_path / "local.jsonl").read_text(encoding="utf-8")
    assert [json.loads(x)["id"] for x in got.splitlines()] == ["a0", "a1", "a2", "a3"]
    assert "rejected 1" in ray_run.output  # the bad line is reported, as in the local path
