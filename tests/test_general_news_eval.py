"""benchmarks/general_news_eval.py: held-out slice, recorded specs, label restriction, corpus-only gold."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from zhie.annotation.records import Document, Entity

_SPEC = importlib.util.spec_from_file_location(
    "general_news_eval", Path(__file__).resolve().parents[1] / "benchmarks" / "general_news_eval.py")
gne = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(gne)


def _doc(i: int, text: str, *ents: tuple[int, int, str]) -> Document:
    return Document(id=f"d{i}", text=text, entities=[Entity(id=f"e{n}", start=s, end=e, label=lab, text=text[s:e])
                                                      for n, (s, e, lab) in enumerate(ents, 1)])


def test_heldout_slice_skips_trained_ids_and_texts_and_takes_the_tail():
    sents = [_doc(i, f"句子{i}") for i in range(10)]
    trained = [sents[8], _doc(99, "句子3")]  # d8 by id; d3 only by equal text
    got, free = gne.heldout_slice(sents, trained, 3)
    assert free == 8
    assert [d.id for d in got] == ["d6", "d7", "d9"]
    assert [d.id for d in gne.heldout_slice(sents, trained, 100)[0]] == [f"d{i}" for i in (0, 1, 2, 4, 5, 6, 7, 9)]


def test_recorded_pd_specs_reads_toml_and_json_configs(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.toml").write_text('data = ["news:train*10", "pd:4000", "cluener"]\n', encoding="utf-8")
    (tmp_path / "configs" / "b.toml").write_text('data = ["news:train"]\n', encoding="utf-8")
    (tmp_path / "configs" / "broken.toml").write_text("data = [\n", encoding="utf-8")
    run = tmp_path / "models" / "weights" / "ner"
    run.mkdir(parents=True)
    (run / "stage1_train_config.json").write_text(json.dumps({"data": ["pd:4000*2", "pd:many", "pd:300"]}),
                                                  encoding="utf-8")
    got = gne.recorded_pd_specs(tmp_path, ("configs/*.toml", "models/weights/*/*config*.json"), defaults=["pd"])
    assert got == {"pd:4000": ["configs/a.toml", "models/weights/ner/stage1_train_config.json"],
                   "pd:300": ["models/weights/ner/stage1_train_config.json"], "pd": ["NerRunConfig default"]}


def test_labels_outside_the_corpus_are_neither_gold_nor_false_positives():
    gold = [_doc(1, "华为投资10亿元在深圳", (0, 2, "ORG"), (4, 8, "MONEY"), (9, 11, "LOC"))]
    pred = [_doc(1, "华为投资10亿元在深圳", (0, 2, "ORG"), (4, 8, "MONEY"), (8, 11, "PROJECT"))]
    rep = gne.score("toy", gold, pred, frozenset({"ORG", "LOC"}), 1.0, {"slice": "toy"})
    ents = rep["entities"]
    assert rep["predictions_dropped"] == {"MONEY": 1, "PROJECT": 1}
    assert rep["gold_entities"] == 2 and "MONEY" not in ents
    assert ents["ORG"]["f1-score"] == 1.0 and ents["LOC"]["recall"] == 0.0
    assert ents["micro avg"]["precision"] == 1.0 and ents["micro avg"]["recall"] == 0.5


def test_gold_can_leave_out_pattern_spans(tmp_path):
    path = tmp_path / "dev.json"
    text = "腾讯公司于2020年3月投资5亿元。"
    row = {"text": text, "label": {"company": {"腾讯公司": [[0, 3]]}}}
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    plain = list(gne.corpora.read_cluener(path, fill_patterns=False))
    silver = list(gne.corpora.read_cluener(path))  # as training reads it
    assert [(e.text, e.label) for e in plain[0].entities] == [("腾讯公司", "ORG")]
    assert {e.label for e in silver[0].entities} >= {"ORG", "MONEY"}
