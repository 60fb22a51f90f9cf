"""benchmarks/paired_bootstrap.py: per-article counts add up to `zhie evaluate`'s F1; the interval brackets B - A."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from zhie.annotation.jsonl import write_jsonl
from zhie.annotation.records import Document, Entity, Relation

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paired_bootstrap.py"
_SPEC = importlib.util.spec_from_file_location("paired_bootstrap", SCRIPT)
pb = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(pb)

TEXT = "甲项目落户苏州，投资5亿元。"


def _doc(i: int, project: bool = True, linked: bool = True) -> Document:
    ents = [Entity(id="e1", start=0, end=3, label="PROJECT", text="甲项目")] if project else []
    ents += [Entity(id="e2", start=5, end=7, label="LOC", text="苏州"), Entity(id="e3", start=10, end=13, label="MONEY", text="5亿元")]
    rels = [Relation(head="e1", tail="e2", label="project_location")] if project and linked else []
    return Document(id=f"d{i}", text=TEXT, entities=ents, relations=rels)


def test_counts_give_the_micro_f1_of_all_articles():
    gold = [_doc(i) for i in range(4)]
    pred = {d.id: d for d in [_doc(0), _doc(1, project=False), _doc(2, linked=False), _doc(3)]}
    ents = pb.counts(gold, pred, pb._entities(None))
    assert ents.sum(0).tolist() == [11, 0, 1]  # d1's project missed
    assert pb.f1(ents.sum(0)) == 2 * 11 / (2 * 11 + 1)
    assert pb.counts(gold, pred, pb.relation_keys).sum(0).tolist() == [2, 0, 2]  # d1 and d2 link nothing


def test_interval_is_zero_for_twins_and_below_zero_for_a_worse_model(tmp_path):
    gold = [_doc(i) for i in range(30)]
    worse = [_doc(i, project=i % 3 != 0) for i in range(30)]  # misses every third article's project
    for name, docs in (("gold", gold), ("worse", worse)):
        write_jsonl(docs, tmp_path / f"{name}.jsonl")
    out = tmp_path / "out.json"
    run = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "gold.jsonl"), str(tmp_path / "gold.jsonl"),
                          str(tmp_path / "worse.jsonl"), "--samples", "300", "-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert rep["MONEY"]["b_minus_a"] == 0 and rep["MONEY"]["ci95"] == [0, 0]
    assert rep["PROJECT"]["b"] == round(2 * 20 / (2 * 20 + 10), 4) and rep["PROJECT"]["ci95"][1] < 0
    assert rep["zhie_evaluate_B"]["relations"] == rep["relations"]["b"]
