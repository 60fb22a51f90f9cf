"""Error analysis on hand-written records: every category, the named patterns, and counts that add up."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from zhie.annotation.labels import ENTITY_LABELS
from zhie.annotation.records import Document, Entity
from zhie.cli import app
from zhie.training.error_analysis import (GOLD_CATEGORIES, PRED_CATEGORIES, RecordMismatchError, analyse,
                                          format_examples, format_table, pair_documents)


def _doc(doc_id: str, text: str, spans: list[tuple[str, str]] | list[tuple[str, str, int]]) -> Document:
    """Entities from (substring, label[, search from]) so that offsets are never written by hand."""
    ents = []
    for n, (sub, label, *frm) in enumerate(spans, 1):
        s = text.index(sub, *frm)
        ents.append(Entity(id=f"e{n}", start=s, end=s + len(sub), label=label, text=sub))
    return Document(id=doc_id, text=text, entities=ents)


def _one(text, gold, pred):
    return analyse([_doc("d", text, gold)], [_doc("d", text, pred)])


def _cat(rep, label, side, key, sub=None):
    c = rep["labels"][label][side]
    return c[key] if sub is None else c[key][sub]


def test_exact_and_boundary_kinds():
    t = "南宁加快建设兴达新材料项目，于2024年3月开工。"
    rep = _one(t, [("南宁", "LOC"), ("兴达新材料项目", "PROJECT"), ("2024年3月", "DATE")],
               [("南宁加", "LOC"), ("新材料项目", "PROJECT"), ("于2024年", "DATE")])
    assert _cat(rep, "LOC", "gold", "boundary_kinds", "too_long") == 1
    assert _cat(rep, "LOC", "pred", "boundary_kinds", "too_long") == 1
    assert _cat(rep, "PROJECT", "gold", "boundary_kinds", "cut_short") == 1
    assert _cat(rep, "DATE", "gold", "boundary_kinds", "shifted") == 1
    assert rep["total"]["gold"]["boundary"] == 3 and rep["total"]["gold"]["exact"] == 0
    rep = _one(t, [("南宁", "LOC")], [("南宁", "LOC")])
    assert rep["total"]["gold"]["exact"] == rep["total"]["pred"]["exact"] == 1
    assert rep["total"]["gold"]["boundary"] == 0 and rep["examples"]["too_long"] == []


def test_splits_at_a_dash_and_after_the_first_character():
    t = "中国—东盟合作区引进兴达新材料项目。"
    rep = _one(t, [("中国—东盟合作区", "LOC"), ("兴达新材料项目", "PROJECT")],
               [("中国", "LOC"), ("东盟合作区", "LOC"), ("兴", "PROJECT"), ("达新材料项目", "PROJECT")])
    loc, proj = rep["labels"]["LOC"], rep["labels"]["PROJECT"]
    assert loc["gold"]["boundary_kinds"]["split"] == 1 and loc["gold"]["patterns"]["split_at_dash_or_bracket"] == 1
    assert loc["gold"]["patterns"]["split_after_first_char"] == 0
    assert proj["gold"]["patterns"]["split_after_first_char"] == 1
    assert proj["gold"]["patterns"]["split_at_dash_or_bracket"] == 0
    assert loc["pred"]["boundary_kinds"]["cut_short"] == 2 and loc["pred"]["total"] == 2
    assert [e["text"] for e in rep["examples"]["split"][0]["pred"]] in (["中国", "东盟合作区"], ["兴", "达新材料项目"])


def test_org_read_as_place_plus_leftovers_and_wrong_labels():
    t = "广西壮族自治区商务厅与星河动力签约。"
    rep = _one(t, [("广西壮族自治区商务厅", "ORG"), ("星河动力", "ORG")], [("广西", "LOC"), ("星河动力", "PROJECT")])
    org = rep["labels"]["ORG"]["gold"]
    assert org["wrong_label"] == 2 and org["wrong_label_kinds"] == {"same_span": 1, "overlapping": 1}
    assert org["wrong_label_as"]["LOC"] == 1 and org["wrong_label_as"]["PROJECT"] == 1
    assert org["patterns"]["loc_plus_leftovers"] == 1
    assert _cat(rep, "LOC", "pred", "wrong_label") == 1 and _cat(rep, "PROJECT", "pred", "wrong_label") == 1
    # a same-label prediction takes precedence: boundary, and the LOC pattern still counts
    rep = _one(t, [("广西壮族自治区商务厅", "ORG")], [("广西", "LOC"), ("壮族自治区商务厅", "ORG")])
    org = rep["labels"]["ORG"]["gold"]
    assert org["boundary"] == 1 and org["wrong_label"] == 0 and org["patterns"]["loc_plus_leftovers"] == 1


def test_missed_spurious_and_merged():
    t = "南宁青秀区今天投资5亿元。"
    rep = _one(t, [("南宁", "LOC"), ("青秀区", "LOC"), ("5亿元", "MONEY")], [("南宁青秀区", "LOC"), ("今天", "DATE")])
    assert _cat(rep, "MONEY", "gold", "missed") == 1 and _cat(rep, "DATE", "pred", "spurious") == 1
    assert _cat(rep, "LOC", "pred", "boundary_kinds", "merged") == 1
    assert _cat(rep, "LOC", "gold", "boundary_kinds", "too_long") == 2
    assert rep["examples"]["missed"][0]["gold"][0]["text"] == "5亿元" and rep["examples"]["missed"][0]["pred"] == []
    assert rep["examples"]["spurious"][0]["pred"][0]["text"] == "今天"


def test_examples_window_ranking_and_printing():
    pad = "这是一段不含实体的背景文字用于测试窗口"  # 19 characters
    t = pad + "星河动力" + pad + "广西壮族自治区商务厅" + pad
    rep = analyse([_doc("d", t, [("星河动力", "ORG"), ("广西壮族自治区商务厅", "ORG")])], [_doc("d", t, [])], top=1)
    (ex,) = rep["examples"]["missed"]  # top=1 keeps the worse: 10 characters wrong beat 4
    s = t.index("广西")
    assert ex["severity"] == 10 and ex["context"]["start"] == s - 15 and ex["context"]["end"] == s + 10 + 15
    assert ex["context"]["gold"] == t[s - 15:s] + "[广西壮族自治区商务厅]ORG" + t[s + 10:s + 25]
    assert ex["context"]["pred"] == t[s - 15:s + 25]
    assert "[广西壮族自治区商务厅]ORG" in format_examples(rep) and "ORG" in format_table(rep)
    md = format_table(rep, markdown=True).splitlines()
    assert md[2].split("|")[1:4] == [" ORG ", " 2 ", " 0 "]


def test_records_must_match():
    a = _doc("a", "重庆", [("重庆", "LOC")])
    with pytest.raises(RecordMismatchError, match="record a"):
        pair_documents([a], [])
    with pytest.raises(RecordMismatchError, match="record b"):
        pair_documents([a], [a, _doc("b", "重庆", [])])
    with pytest.raises(RecordMismatchError, match="record a: gold and predicted texts differ"):
        pair_documents([a], [_doc("a", "重庆市", [])])
    with pytest.raises(RecordMismatchError, match="record a: appears twice"):
        pair_documents([a, a], [a])


@st.composite
def _spans(draw, n: int = 24):
    """Non-overlapping random spans over a text of n characters."""
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=10)))
    spans = [(s, e) for s, e in zip(cuts, cuts[1:]) if draw(st.booleans())]
    return [(s, e, draw(st.sampled_from(ENTITY_LABELS))) for s, e in spans]


@given(_spans(), _spans())
def test_every_span_is_counted_once(gold_spans, pred_spans):
    text = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥天地"
    def mk(spans):
        return Document(id="d", text=text, entities=[
            Entity(id=f"e{i}", start=s, end=e, label=lab, text=text[s:e]) for i, (s, e, lab) in enumerate(spans)])

    rep = analyse([mk(gold_spans)], [mk(pred_spans)])
    for lab in ENTITY_LABELS:
        g, p = rep["labels"][lab]["gold"], rep["labels"][lab]["pred"]
        assert g["total"] == sum(x[2] == lab for x in gold_spans) == sum(g[c] for c in GOLD_CATEGORIES)
        assert p["total"] == sum(x[2] == lab for x in pred_spans) == sum(p[c] for c in PRED_CATEGORIES)
        assert sum(g["boundary_kinds"].values()) == g["boundary"] and sum(p["boundary_kinds"].values()) == p["boundary"]
        assert sum(g["wrong_label_kinds"].values()) == g["wrong_label"] == sum(g["wrong_label_as"].values())
        assert g["exact"] == p["exact"] == len({x for x in gold_spans if x[2] == lab} & set(pred_spans))
    assert rep["total"]["gold"]["total"] == len(gold_spans)


def test_cli(tmp_path):
    t = "南宁加快建设中国—东盟合作区。"
    gold, pred = tmp_path / "gold.jsonl", tmp_path / "pred.jsonl"
    gold.write_text(_doc("d1", t, [("南宁", "LOC"), ("中国—东盟合作区", "LOC")]).model_dump_json() + "\n", encoding="utf-8")
    pred.write_text(_doc("d1", t, [("南宁加", "LOC")]).model_dump_json() + "\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["errors", str(gold), str(pred), "--top", "3", "-o", str(tmp_path / "rep.json")])
    assert r.exit_code == 0, r.output
    assert "[南宁加]LOC快建设" in r.stdout and "missed" in r.stdout
    rep = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))
    assert rep["labels"]["LOC"]["gold"]["missed"] == 1 and rep["labels"]["LOC"]["gold"]["boundary"] == 1
    other = tmp_path / "other.jsonl"
    other.write_text(_doc("d2", t, []).model_dump_json() + "\n", encoding="utf-8")
    r = runner.invoke(app, ["errors", str(gold), str(other)])
    assert r.exit_code == 2 and "record d1" in r.stderr
    pred.write_text(pred.read_text(encoding="utf-8") + "not json\n", encoding="utf-8")
    r = runner.invoke(app, ["errors", str(gold), str(pred)])
    assert r.exit_code == 1 and "line 2" in r.stderr
