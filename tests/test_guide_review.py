"""tools/guide_review.py: the reviewed edits replay exactly, keep ids consistent, and fail loudly."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from zhie.annotation.records import Document

_spec = importlib.util.spec_from_file_location("guide_review", Path(__file__).resolve().parents[1] / "tools" / "guide_review.py")
gr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gr)

# An invented passage: a company, a suffixed place left inside a PROJECT, an amount, two · joined places.
TEXT = "今年,华晟集团临江县储能电池项目开工。项目总投资12亿元。中国·临江招商会举行。"


def doc() -> Document:
    def ent(i, s, label):
        start = TEXT.rindex(s) if label == "LOC" else TEXT.index(s)
        return {"id": i, "start": start, "end": start + len(s), "label": label, "text": s}
    return Document(id="t-1", text=TEXT, entities=[
        ent("e1", "今年", "DATE"), ent("e2", "华晟集团", "ORG"), ent("e3", "临江县储能电池项目", "PROJECT"),
        ent("e4", "12亿元", "MONEY"), ent("e5", "中国", "LOC"), ent("e6", "临江", "LOC")],
        relations=[{"head": "e3", "tail": "e4", "label": "project_amount"}])


def run(*edits: dict) -> Document:
    (out,), _ = gr.apply_edits([doc()], [{"doc": "t-1", **e} for e in edits])
    return out


def spans(d: Document) -> dict[str, tuple[str, str]]:
    return {e.id: (e.text, e.label) for e in d.entities}


def test_split_keeps_the_project_id_and_links_the_new_place() -> None:
    s = TEXT.index("临江县")
    out = run({"op": "split", "entity": "e3", "parts": [[s, s + 3, "LOC"], [s + 3, s + 9, "PROJECT"]], "link": True})
    assert spans(out)["e3"] == ("储能电池项目", "PROJECT") and spans(out)["e7"] == ("临江县", "LOC")
    assert {(r.head, r.tail, r.label) for r in out.relations} == {("e3", "e4", "project_amount"),
                                                                  ("e3", "e7", "project_location")}


def test_merge_joins_dot_places_and_relabel_drops_relations_that_no_longer_fit(capsys) -> None:
    out = run({"op": "merge", "entities": ["e5", "e6"], "label": "LOC"},
              {"op": "reshape", "entity": "e3", "start": TEXT.index("华晟"), "end": TEXT.index("华晟") + 2},
              {"op": "remove", "entity": "e2"}, {"op": "relabel", "entity": "e3", "label": "ORG"})
    assert spans(out)["e5"] == ("中国·临江", "LOC") and "e6" not in spans(out)
    assert spans(out)["e3"] == ("华晟", "ORG") and out.relations == []
    assert "dropped e3->e4 project_amount" in capsys.readouterr().err


def test_bad_edits_name_the_record() -> None:
    with pytest.raises(ValueError, match="t-1.*e9"):
        run({"op": "remove", "entity": "e9"})
    with pytest.raises(ValueError, match="t-1.*no relation"):
        run({"op": "drop_rel", "head": "e3", "tail": "e4", "label": "project_location"})
    with pytest.raises(ValueError, match="not in the dataset"):
        gr.apply_edits([doc()], [{"doc": "t-2", "op": "remove", "entity": "e1"}])


def test_sentence_index_counts_terminators_not_blank_lines() -> None:
    text = "甲。”\n\n乙!丙\n丁"
    sent = gr.sentence_index(text)
    assert [sent[text.index(c)] for c in "甲乙丙丁"] == [0, 1, 2, 3]


def test_far_relations_are_listed_with_their_gap() -> None:
    far = Document(id="t-2", text="甲项目开工。乙。丙。投资3亿元。", entities=[
        {"id": "e1", "start": 0, "end": 3, "label": "PROJECT", "text": "甲项目"},
        {"id": "e2", "start": 12, "end": 15, "label": "MONEY", "text": "3亿元"}],
        relations=[{"head": "e1", "tail": "e2", "label": "project_amount"}])
    (what, _), = gr.far_relations(far)
    assert "gap 3" in what
