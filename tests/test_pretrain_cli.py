"""`zhie pretrain` end to end on a tiny generated corpus: --build-corpus -> train (preset small) -> resume -> export.

The articles are generated from templates (test_pretrain's `_sentence`), never copied from a corpus.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from test_pretrain import _sentence
from zhie.cli import app

runner = CliRunner()
FAST = ["--preset", "small", "--batch-size", "2", "--eval-sequences", "4", "--log-seconds", "0"]


def _summary(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with one source, news_raw.jsonl: 60 generated articles of 4 sentences."""
    rng = random.Random(11)
    root = tmp_path_factory.mktemp("raw")
    rows = [{"id": f"g-{i}", "text": "\n".join(_sentence(rng) for _ in range(4))} for i in range(60)]
    (root / "news_raw.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return root


def test_pretrain_help_lists_the_options() -> None:
    r = runner.invoke(app, ["pretrain", "--help"])
    assert r.exit_code == 0, r.output
    for option in ("--build-corpus", "--corpus", "--preset", "--output-dir", "--max-minutes", "--max-steps",
                   "--resume", "--batch-size", "--lr", "--export-fp16"):
        assert option in r.output, option


def test_build_corpus_train_resume_export(data_root: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    corpus, out, export = tmp_path / "corpus", tmp_path / "run", tmp_path / "fp16"
    r = runner.invoke(app, ["pretrain", "--build-corpus", "--data-root", str(data_root), "--source", "news_raw",
                            "--workers", "1", "--corpus", str(corpus), "-o", str(out), "--max-steps", "3",
                            "--stop-after-steps", "2", *FAST])
    assert r.exit_code == 0, r.output
    assert "tokenised 100.0%" in r.stderr and "corpus written to" in r.stderr  # build progress shown
    stats = json.loads((corpus / "stats.json").read_text(encoding="utf-8"))
    assert stats["sources"]["news_raw"]["documents"] == 60 and stats["files"]["heldout"]["sequences"] >= 1
    first = _summary(r.stdout)
    assert first["steps"] == 2 and first["stopped_by"] == "stop_after_steps" and first["preset"] == "small"
    assert (out / "checkpoint.pt").exists()
    r = runner.invoke(app, ["pretrain", "--corpus", str(corpus), "-o", str(tmp_path / "other"), "--resume", *FAST])
    assert r.exit_code == 2 and "no checkpoint" in r.stderr

    r = runner.invoke(app, ["pretrain", "--corpus", str(corpus), "-o", str(out), "--max-steps", "3", "--resume",
                            "--export-fp16", str(export), *FAST])
    assert r.exit_code == 0, r.output
    assert "resumed from step 2" in r.stderr
    done = _summary(r.stdout)
    assert done["steps"] == 3 and done["stopped_by"] == "schedule" and done["heldout_loss"] > 0
    metrics = json.loads((export / "pretrain_metrics.json").read_text(encoding="utf-8"))
    assert metrics["training"]["resumed_from_step"] == 2 and metrics["config"]["hidden_size"] == 256

    fp32 = AutoModelForMaskedLM.from_pretrained(out)
    fp16 = AutoModelForMaskedLM.from_pretrained(export)
    assert fp32.config.num_hidden_layers == 4 and next(fp16.parameters()).dtype == torch.float32
    w32, w16 = fp32.bert.embeddings.word_embeddings.weight, fp16.bert.embeddings.word_embeddings.weight
    assert torch.allclose(w32, w16, atol=1e-3)


def test_pretrain_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    r = runner.invoke(app, ["pretrain", "--corpus", str(tmp_path / "none"), "-o", str(tmp_path / "run")])
    assert r.exit_code == 2 and "--build-corpus" in r.stderr  # no corpus: says how to get one
    r = runner.invoke(app, ["pretrain", "--build-corpus", "--resume", "-o", str(tmp_path / "run")])
    assert r.exit_code == 2 and "--resume" in r.stderr
    r = runner.invoke(app, ["pretrain", "--preset", "huge"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["pretrain", "--build-corpus", "--source", "nope", "--corpus", str(tmp_path / "c")])
    assert r.exit_code == 2 and "unknown sources" in r.stderr
