"""The bundled fast model (models/weights/ner-fast): loads with transformers alone, is the pruned student its
card describes, runs through the same pipeline with its own relation head, and was trained as its configs say."""
import json
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification

from zhie.inference.extractor import Extractor
from zhie.training.run_config import NerRunConfig
from zhie.training.train_relation_head import HeadRunConfig

ROOT = Path(__file__).resolve().parents[1]
FAST = ROOT / "models" / "weights" / "ner-fast"
ARTICLE = (ROOT / "examples" / "article.txt").read_text(encoding="utf-8")


def test_fast_model_is_a_three_layer_pruned_student_of_the_default():
    fast = AutoModelForTokenClassification.from_pretrained(FAST)
    default = AutoModelForTokenClassification.from_pretrained(ROOT / "models" / "weights" / "ner")
    assert fast.dtype == torch.float16 and fast.config.num_hidden_layers == 3
    assert default.config.num_hidden_layers == 6 and fast.config.hidden_size == default.config.hidden_size
    prune_info = json.loads((FAST / "prune_info.json").read_text(encoding="utf-8"))  # half the feed-forward neurons
    assert fast.config.intermediate_size == prune_info["intermediate"] == default.config.intermediate_size // 2
    assert fast.config.id2label == default.config.id2label
    for key in ("zhie_crf", "zhie_lexicon"):  # same decoding and features as the default
        assert (getattr(fast.config, key) is None) == (getattr(default.config, key) is None)


def test_fast_model_predicts_projects_with_its_own_relation_head():
    doc = Extractor.load(FAST).predict(ARTICLE, pub_date="2025-03-12")
    labels = {e.label for e in doc.entities}
    assert {"PROJECT", "MONEY", "LOC", "ORG", "DATE"} <= labels
    assert {r.label for r in doc.relations} == {"project_amount", "project_location"}
    assert doc.projects and any(p.amounts for p in doc.projects)


def test_fast_model_was_trained_as_its_configs_say():
    ran = NerRunConfig.load(FAST / "run_config.json")
    shipped = NerRunConfig.load(ROOT / "configs" / "experiments" / "ner-lite-train-dev.toml")
    assert ran.model_dump() == shipped.model_dump()
    head = HeadRunConfig.load(ROOT / "configs" / "experiments" / "re-head-lite-train-dev.toml")
    saved = json.loads((FAST / "relation_head_run_config.json").read_text(encoding="utf-8"))
    assert saved["thresholds"] == head.thresholds and saved["data"] == head.data
