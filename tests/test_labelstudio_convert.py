"""Label Studio config and conversion, offline: round trips, the export policy, active-learning order."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from label_studio_sdk.label_interface import LabelInterface
from typer.testing import CliRunner

from zhie.annotation.labels import ENTITY_LABELS, RELATION_LABELS, RELATION_TYPES
from zhie.annotation.labelstudio.articles import IdConflict, has_annotations, read_articles
from zhie.annotation.labelstudio.config import config_problems, label_config
from zhie.annotation.labelstudio.convert import (
    convert_export,
    document_to_prediction,
    document_to_task,
    read_export,
    result_to_document,
    task_to_document,
)
from zhie.annotation.labelstudio.select import select_uncertain, uncertainty
from zhie.annotation.records import Document
from zhie.annotation.split import is_held_out, split_holdout
from zhie.annotate_cmd import annotate_app

# emoji (outside the BMP), full-width digits/letters/punctuation, ideographic and repeated spaces
CHARS = list("重庆沙坪坝区项目投资亿元年月日，。（）：、,.():１２３ＡＢab19 \u3000") + ["😀", "🏗", "\n", "  "]
EXTRA_KEYS = ["pub_date", "source", "split", "url"]


@st.composite
def documents(draw: st.DrawFn, scored: bool = False) -> Document:
    text = "".join(draw(st.lists(st.sampled_from(CHARS), max_size=40)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=12))))
    spans = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    ids = draw(st.lists(st.text("abcdefxyz0123456789-_", min_size=1, max_size=5), min_size=len(spans),
                        max_size=len(spans), unique=True))
    score = st.floats(0, 1) if scored else st.none()
    entities = [{"id": i, "start": a, "end": b, "text": text[a:b], "label": draw(st.sampled_from(ENTITY_LABELS)),
                 "score": draw(score)} for i, (a, b) in zip(ids, spans, strict=True)]
    if scored:
        for e in entities:
            if e["label"] == "MONEY" and draw(st.booleans()):
                e["value"] = {"kind": "MONEY", "amount": draw(st.integers(0, 10**12)), "currency": "CNY"}
    entities = draw(st.permutations(entities))
    relations = [{"head": h["id"], "tail": t["id"], "label": lab, "score": draw(score)}
                 for lab, (hl, tl) in RELATION_TYPES.items()
                 for h in entities if h["label"] == hl for t in entities if t["label"] == tl if draw(st.booleans())]
    extras = draw(st.dictionaries(st.sampled_from(EXTRA_KEYS), st.text(max_size=8) | st.integers(), max_size=3))
    return Document.model_validate({"id": draw(st.text(min_size=1, max_size=8)), "text": text, **extras,
                                    "entities": entities, "relations": relations})


def exported(task: dict[str, Any], task_id: int = 1, annotations: list[dict[str, Any]] | None = None) -> dict:
    """What Label Studio's JSON export gives back for an imported task (ids added, JSON round trip)."""
    out = json.loads(json.dumps(task, ensure_ascii=False))
    out["id"] = task_id
    anns = annotations if annotations is not None else out.get("annotations", [])
    out["annotations"] = [{"id": 100 + k, "was_cancelled": False, "ground_truth": False,
                           "created_at": f"2026-11-0{k + 1}T10:00:00Z", "updated_at": f"2026-11-0{k + 1}T10:00:00Z",
                           **a} for k, a in enumerate(anns)]
    out["predictions"] = [7] if task.get("predictions") else []  # the export lists prediction ids only
    return out


def region(rid: str, start: int, end: int, text: str, label: str) -> dict[str, Any]:
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text, "labels": [label]}}


def relation(a: str, b: str, label: str, direction: str = "right") -> dict[str, Any]:
    return {"type": "relation", "from_id": a, "to_id": b, "direction": direction, "labels": [label]}


TEXT = "欧林生物重庆研究院总投资约6亿元，落户沙坪坝。"
GOOD = [region("p", 0, 9, "欧林生物重庆研究院", "PROJECT"), region("m", 13, 16, "6亿元", "MONEY"),
        region("l", 19, 22, "沙坪坝", "LOC"), relation("p", "m", "project_amount")]


def ls_task(task_id: int, annotations: list[dict[str, Any]], doc_id: str | None = None) -> dict[str, Any]:
    data = {"text": TEXT, **({"doc_id": doc_id} if doc_id else {})}
    return exported({"data": data}, task_id, annotations)


# ---------------------------------------------------------------- config

def test_config_carries_every_label_and_loads_in_label_studio() -> None:
    cfg = label_config()
    iface = LabelInterface(cfg)
    assert set(iface.get_control("label").labels) == set(ENTITY_LABELS)
    assert all(f'<Relation value="{r}"/>' in cfg for r in RELATION_LABELS)
    assert config_problems(cfg) == []


def test_config_problems_name_what_is_missing() -> None:
    old = label_config(ENTITY_LABELS[:-1], RELATION_LABELS[:1])
    problems = config_problems(old)
    assert any(ENTITY_LABELS[-1] in p for p in problems) and any(RELATION_LABELS[1] in p for p in problems)
    assert config_problems("<View>") and config_problems("<View/>")


def test_adding_a_label_updates_config_and_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    import zhie.annotation.labelstudio.convert as convert_mod
    import zhie.annotation.records as records_mod

    labels = (*ENTITY_LABELS, "PERSON")
    for mod in (records_mod, convert_mod):
        monkeypatch.setattr(mod, "ENTITY_LABELS", labels)
    assert '<Label value="PERSON"' in label_config(labels)
    doc, _ = result_to_document("d", "张三来了", {}, [region("a", 0, 2, "张三", "PERSON")])
    assert doc.entities[0].label == "PERSON"


# ---------------------------------------------------------------- round trips

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_annotation_round_trip_is_identity(doc: Document) -> None:
    task = exported(document_to_task(doc, annotated=True), task_id=3)
    back, notes = task_to_document(task)
    assert back.model_dump() == doc.model_dump() and notes == []
    assert LabelInterface(label_config()).validate_annotation(task["annotations"][0])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(scored=True))
def test_prediction_round_trip_keeps_scores_and_values(doc: Document) -> None:
    pred = json.loads(json.dumps(document_to_prediction(doc, "m1"), ensure_ascii=False))
    assert pred["model_version"] == "m1" and pred["score"] == pytest.approx(1 - uncertainty(doc), abs=1e-6)
    assert LabelInterface(label_config()).validate_prediction(pred)
    back, _ = result_to_document(doc.id, doc.text, dict(doc.model_extra or {}), pred["result"])
    assert back.model_dump() == doc.model_dump()


def test_task_keeps_extra_fields_in_data_and_refuses_prediction_for_other_text() -> None:
    doc = Document(id="a", text=TEXT, pub_date="2024-11-10", source="上游新闻")
    task = document_to_task(doc, prediction=doc, model_version="v1")
    assert task["data"] == {"text": TEXT, "doc_id": "a", "pub_date": "2024-11-10", "source": "上游新闻"}
    assert "annotations" not in task and task["predictions"][0]["model_version"] == "v1"
    with pytest.raises(ValueError, match="record a: the prediction was made for a different text"):
        document_to_task(doc, prediction=Document(id="a", text="别的"), model_version="v1")
    with pytest.raises(ValueError, match="reserved"):
        document_to_task(Document(id="b", text="x", doc_id="c"))


# ---------------------------------------------------------------- export policy

def test_every_task_is_counted_with_its_reason() -> None:
    bad_text = [region("p", 0, 9, "欧林生物重庆研究所", "PROJECT")]
    dangling = [region("p", 0, 9, "欧林生物重庆研究院", "PROJECT"), relation("p", "gone", "project_amount")]
    overlap = [region("p", 0, 9, "欧林生物重庆研究院", "PROJECT"), region("o", 0, 4, "欧林生物", "ORG")]
    tasks = [
        ls_task(1, [{"result": GOOD}], "ok"),
        ls_task(2, [], "empty"),
        ls_task(3, [{"result": GOOD, "was_cancelled": True}], "skipped"),
        ls_task(4, [{"result": bad_text}], "mismatch"),
        ls_task(5, [{"result": dangling}], "dangling"),
        ls_task(6, [{"result": [region("x", 0, 2, "欧林", "PERSON")]}], "unknown"),
        ls_task(7, [{"result": overlap}], "overlap"),
        ls_task(8, [{"result": [{"type": "choices", "value": {}}]}], "choices"),
        ls_task(9, [{"result": GOOD}], "ok"),
        {"id": 10, "data": {"body": TEXT}, "annotations": [{"result": []}]},
        "not a task",
    ]
    docs, rep = convert_export(tasks, "t")
    assert [d.id for d in docs] == ["ok"]
    assert rep.tasks == 11 and rep.kept == 1 and rep.kept + len(rep.rejected) == rep.tasks
    why = {r.task_id: (r.kind, r.field, r.reason) for r in rep.rejected}
    assert why[2][0] == "unannotated" and why[3][0] == "cancelled"
    assert why[4] == ("invalid", "annotations[id=100].result[0].value.text",
                      "text[0:9] is '欧林生物重庆研究院', not '欧林生物重庆研究所'")
    assert why[5][1].endswith("result[1].to_id") and "missing region 'gone'" in why[5][2]
    assert "unknown entity label 'PERSON'" in why[6][2]
    assert "overlap" in why[7][2]
    assert "'choices'" in why[8][2]
    assert why[9][0] == "duplicate" and "task 1" in why[9][2]
    assert why[10][1] == "data.text" and why["#10"][0] == "invalid"
    assert "kept 1, rejected 10 (cancelled 1, duplicate 1, invalid 7, unannotated 1)" in rep.summary()
    assert "task 4 (doc mismatch): invalid: annotations[id=100].result[0].value.text:" in str(rep.rejected[2])


def test_several_annotations_ground_truth_first_then_latest() -> None:
    older, newer = [{"result": GOOD[:1]}, {"result": GOOD[:2]}]
    docs, rep = convert_export([ls_task(1, [older, newer], "d")], "t")
    assert len(docs[0].entities) == 2 and "kept 101 (latest), set aside 100" in rep.notes[0].reason
    truth = {**older, "ground_truth": True}
    docs, rep = convert_export([ls_task(1, [truth, newer], "d")], "t")
    assert len(docs[0].entities) == 1 and "kept 100 (ground truth)" in rep.notes[0].reason
    cancelled_newest = {**newer, "was_cancelled": True}
    docs, rep = convert_export([ls_task(1, [older, cancelled_newest], "d")], "t")
    assert len(docs[0].entities) == 1 and rep.notes == []


def test_relations_are_read_head_to_tail_whatever_way_they_were_drawn() -> None:
    regions = GOOD[:3]
    cases = ((relation("m", "p", "project_amount"), True), (relation("m", "p", "project_amount", "left"), False),
             (relation("l", "p", "project_location", "bi"), False))
    for rel, noted in cases:
        docs, rep = convert_export([ls_task(1, [{"result": [*regions, rel]}], "d")], "t")
        r = docs[0].relations[0]
        assert r.head == "p" and r.tail in ("m", "l") and bool(rep.notes) == noted
    _, rep = convert_export([ls_task(1, [{"result": [*regions, relation("m", "l", "project_amount")]}], "d")], "t")
    assert "project_amount links MONEY m and LOC l, but needs PROJECT->MONEY" in rep.rejected[0].reason


def test_a_relation_left_without_a_label_is_dropped_and_the_task_kept() -> None:
    unlabelled = {**relation("p", "l", "x"), "labels": []}
    docs, rep = convert_export([ls_task(1, [{"result": [*GOOD, unlabelled]}], "d")], "t")
    assert rep.kept == 1 and rep.rejected == []
    assert [(r.head, r.tail, r.label) for r in docs[0].relations] == [("p", "m", "project_amount")]
    assert len(docs[0].entities) == 3
    (note,) = rep.notes
    assert note.task_id == 1 and note.kind == "note" and "relation p->l has no label; dropped" in note.reason
    assert "result[4]" in note.reason


def test_task_made_in_the_ui_gets_an_id_from_the_task() -> None:
    docs, rep = convert_export([ls_task(42, [{"result": GOOD}])], "t")
    assert docs[0].id == "ls-42" and rep.kept == 1


# ---------------------------------------------------------------- active learning

def _pred(doc_id: str, *scores: float) -> Document:
    ents = [{"id": f"e{i}", "start": i, "end": i + 1, "text": "x", "label": "ORG", "score": s}
            for i, s in enumerate(scores)]
    return Document.model_validate({"id": doc_id, "text": "x" * max(len(scores), 1), "entities": ents})


def test_select_takes_the_least_confident_first() -> None:
    docs = [_pred("sure", 0.99, 0.95), _pred("shaky", 0.99, 0.51), _pred("nothing"), _pred("mid", 0.8, 0.8),
            _pred("mid-worse-mean", 0.8, 0.7, 0.8)]
    assert uncertainty(docs[0]) == pytest.approx(0.05) and uncertainty(docs[2]) == 1.0
    assert [d.id for d in select_uncertain(docs, 4)] == ["nothing", "shaky", "mid-worse-mean", "mid"]
    assert select_uncertain(docs, 0) == []


# ---------------------------------------------------------------- reading articles, CLI convert

def test_read_articles_from_txt_dirs_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "news" / "2024").mkdir(parents=True)
    (tmp_path / "news" / "a.txt").write_text("\ufeff  第一篇\r\n文章 😀 \n", encoding="utf-8")
    (tmp_path / "news" / "2024" / "b.txt").write_text("第二篇", encoding="utf-8")
    (tmp_path / "news" / "empty.txt").write_text(" \n", encoding="utf-8")
    (tmp_path / "news" / "bad.txt").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "news" / "notes.md").write_text("ignored: not an article type", encoding="utf-8")
    recs = tmp_path / "recs.jsonl"
    recs.write_text("\n".join([
        json.dumps({"id": "r1", "text": "重庆", "entities": [{"id": "e1", "start": 0, "end": 2, "label": "LOC",
                                                               "text": "重庆"}]}, ensure_ascii=False),
        json.dumps({"id": "r2", "text": "无标注"}, ensure_ascii=False),
        json.dumps({"id": "a", "text": "第一篇\n文章 😀"}, ensure_ascii=False),
        "{broken"]) + "\n", encoding="utf-8")
    docs, reports = read_articles([tmp_path / "news", recs])
    assert [(d.id, d.text) for d in docs] == [("2024/b", "第二篇"), ("a", "第一篇\n文章 😀"), ("r1", "重庆"),
                                              ("r2", "无标注")]
    assert [has_annotations(d) for d in docs] == [False, False, True, False]
    rejected = {str(r) for rep in reports for r in rep.rejected}
    assert any("is empty" in r for r in rejected)
    assert any("not UTF-8" in r for r in rejected)
    # the repeated id is reported at its own line of the JSONL file, naming where it was first read
    assert f"line 3 record a: field id: duplicate record id (first read from {tmp_path / 'news' / 'a.txt'})" in rejected
    assert sum(rep.read for rep in reports) == len(docs) + len(rejected) == 8
    with pytest.raises(FileNotFoundError):
        read_articles([tmp_path / "missing"])


def test_cli_convert_writes_records_and_report(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps([ls_task(1, [{"result": GOOD}], "d1"), ls_task(2, [], "d2")], ensure_ascii=False),
                      encoding="utf-8")
    out, rep = tmp_path / "data.jsonl", tmp_path / "report.json"
    res = CliRunner().invoke(annotate_app, ["convert", str(export), "-o", str(out), "--report", str(rep)])
    assert res.exit_code == 0, res.output
    assert "2 tasks: kept 1, rejected 1 (unannotated 1)" in res.output and "task 2 (doc d2): unannotated" in res.output
    rec = json.loads(out.read_text(encoding="utf-8"))
    assert rec["id"] == "d1" and rec["relations"] == [{"head": "p", "tail": "m", "label": "project_amount"}]
    assert json.loads(rep.read_text(encoding="utf-8"))["rejected"][0]["task_id"] == 2
    export.write_text("{}", encoding="utf-8")
    res = CliRunner().invoke(annotate_app, ["convert", str(export), "-o", str(out)])
    assert res.exit_code == 1 and "expected a list of tasks" in res.output


def test_cli_never_prints_the_url_or_key(tmp_path: Path) -> None:
    url, key = "http://127.0.0.1:9/secret-path-x1", "secret-key-x2"
    res = CliRunner().invoke(annotate_app, ["export", "-o", str(tmp_path / "o.jsonl")],
                             env={"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": key})
    assert res.exit_code == 1 and "cannot reach Label Studio" in res.output
    assert "secret-path-x1" not in res.output and key not in res.output
    res = CliRunner().invoke(annotate_app, ["setup"], env={"LABEL_STUDIO_URL": url, "LABEL_STUDIO_API_KEY": ""})
    assert res.exit_code == 1 and "API key are both required" in res.output


def test_one_id_for_two_different_articles_is_refused_naming_both(tmp_path: Path) -> None:
    news = tmp_path / "news"
    for folder, text in (("2024", "重庆签约"), ("2025", "成都开工"), ("again", "重庆签约")):
        (news / folder).mkdir(parents=True)
        (news / folder / "x.txt").write_text(text, encoding="utf-8")
    docs, reports = read_articles([news / "2024", news / "again"])  # same text: a reported duplicate
    assert [d.id for d in docs] == ["x"]
    assert [str(r) for r in reports[1].rejected] == [
        f"line 1 record x: field id: duplicate record id (first read from {news / '2024' / 'x.txt'})"]
    recs = tmp_path / "recs.jsonl"
    recs.write_text('{"id": "y", "text": "甲"}\n\n{"id": "y", "text": "乙"}\n', encoding="utf-8")
    with pytest.raises(IdConflict) as err:
        read_articles([news / "2024", news / "2025", recs])
    msg = str(err.value)
    assert msg.startswith("2 record id(s) name different articles")
    assert f"id 'x': {news / '2025' / 'x.txt'} and {news / '2024' / 'x.txt'} hold different texts" in msg
    assert f"id 'y': {recs} line 3 and {recs} line 1" in msg and "common parent folder" in msg
    # the parent folder gives each its own id
    docs, _ = read_articles([news])
    assert sorted(d.id for d in docs) == ["2024/x", "2025/x", "again/x"]


def test_cli_import_of_nothing_readable_fails(tmp_path: Path) -> None:
    (tmp_path / "gbk").mkdir()
    for i, text in enumerate(("重庆项目签约", "成都项目开工")):
        (tmp_path / "gbk" / f"{i}.txt").write_bytes(text.encode("gbk"))
    env = {"LABEL_STUDIO_URL": "http://127.0.0.1:9", "LABEL_STUDIO_API_KEY": "k"}  # never reached
    res = CliRunner().invoke(annotate_app, ["import", str(tmp_path / "gbk")], env=env)
    assert res.exit_code == 1 and "not UTF-8" in res.output and "read 0 articles from 2 files" in res.output
    assert "error: nothing to import: no readable article" in res.output and "cannot reach" not in res.output


def test_cli_convert_names_the_export_format_to_choose(tmp_path: Path) -> None:
    json_min = [{"text": TEXT, "doc_id": "d1", "id": 1, "annotator": 1, "annotation_id": 3,
                 "label": [{"start": 0, "end": 9, "text": TEXT[:9], "labels": ["PROJECT"]}]}]
    cases = {
        "min.json": (json.dumps(json_min, ensure_ascii=False).encode(), "this is a JSON-MIN export"),
        "e.csv": ('"annotation_id","doc_id","id","text"\r\n3,"d1",1,"x"\r\n'.encode(), "this is a CSV export"),
        "e.tsv": ('"annotation_id"\t"doc_id"\r\n3\t"d1"\r\n'.encode(), "this is a TSV export"),
        "e.zip": (b"PK\x03\x04\x14\x00rest-of-a-zip", "this is a ZIP archive"),
        "e.conll": ("-DOCSTART- -X- O\n重 -X- _ B-LOC\n".encode(), "this is a CONLL2003 export"),
        "e.jsonl": (b'{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n', "this is JSONL"),
        "gbk.json": ("[{'中文'".encode("gbk"), "not UTF-8 text"),
    }
    for name, (raw, why) in cases.items():
        (tmp_path / name).write_bytes(raw)
        res = CliRunner().invoke(annotate_app, ["convert", str(tmp_path / name), "-o", str(tmp_path / "o.jsonl")])
        assert res.exit_code == 1 and why in res.output, (name, res.output)
        assert name == "e.jsonl" or "choosing JSON" in res.output
        assert not (tmp_path / "o.jsonl").exists()
    with pytest.raises(ValueError, match="JSON-MIN"):
        read_export(json.dumps(json_min).encode())
    assert read_export(b"[]") == []


def test_cli_convert_of_nothing_fails_and_writes_into_new_folders(tmp_path: Path) -> None:
    export = tmp_path / "export.json"
    export.write_text(json.dumps([ls_task(1, [], "d1")], ensure_ascii=False), encoding="utf-8")
    out, rep = tmp_path / "a" / "b" / "data.jsonl", tmp_path / "c" / "report.json"
    res = CliRunner().invoke(annotate_app, ["convert", str(export), "-o", str(out), "--report", str(rep)])
    assert res.exit_code == 1 and "1 tasks: kept 0, rejected 1 (unannotated 1)" in res.output
    assert "no task converted" in res.output and not out.exists() and json.loads(rep.read_text())["kept"] == 0
    export.write_text(json.dumps([ls_task(1, [{"result": GOOD}], "d1")], ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(annotate_app, ["convert", str(export), "-o", str(out), "--report", str(rep)])
    assert res.exit_code == 0 and json.loads(out.read_text(encoding="utf-8"))["id"] == "d1"


# ---------------------------------------------------------------- held-out split

def _records(n: int, start: int = 0) -> list[Document]:
    return [Document(id=f"news/{i:04d}", text=f"第{i}篇") for i in range(start, start + n)]


def test_holdout_is_deterministic_disjoint_complete_and_stable() -> None:
    docs = _records(400)
    train, held = split_holdout(docs, 0.15, seed=7)
    assert (train, held) == split_holdout(list(docs), 0.15, seed=7)
    assert sorted(d.id for d in train + held) == sorted(d.id for d in docs)  # every record exactly once
    assert not {d.id for d in train} & {d.id for d in held}
    assert 0.10 < len(held) / len(docs) < 0.20
    assert {d.id for d in split_holdout(docs, 0.15, seed=8)[1]} != {d.id for d in held}
    grown = _records(200, start=400) + docs[::-1]  # the next round's export: more records, another order
    train2, held2 = split_holdout(grown, 0.15, seed=7)
    assert {d.id for d in held} == {d.id for d in held2 if int(d.id[5:]) < 400}
    assert {d.id for d in train} == {d.id for d in train2 if int(d.id[5:]) < 400}
    assert split_holdout(docs, 0.0)[1] == [] and split_holdout(docs, 1.0)[0] == []
    with pytest.raises(ValueError):
        is_held_out("x", 1.5)


def test_cli_split_writes_both_parts_from_jsonl_or_an_export(tmp_path: Path) -> None:
    src = tmp_path / "round1.jsonl"
    src.write_text("".join(d.model_dump_json() + "\n" for d in _records(60)) + "not json\n", encoding="utf-8")
    out, held = tmp_path / "split" / "train.jsonl", tmp_path / "split" / "heldout.jsonl"
    args = ["split", str(src), "--holdout", "0.2", "--seed", "3", "-o", str(out), "--heldout", str(held)]
    res = CliRunner().invoke(annotate_app, args)
    assert res.exit_code == 0, res.output
    assert "line 61" in res.output and "60 records:" in res.output
    ids = [[json.loads(x)["id"] for x in f.read_text(encoding="utf-8").splitlines()] for f in (out, held)]
    want_train, want_held = split_holdout(_records(60), 0.2, seed=3)
    assert ids == [[d.id for d in want_train], [d.id for d in want_held]]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([ls_task(i, [{"result": GOOD}], f"news/{i:04d}") for i in range(60)],
                                 ensure_ascii=False), encoding="utf-8")
    res = CliRunner().invoke(annotate_app, ["split", str(export), *args[2:]])
    assert res.exit_code == 0, res.output
    assert [[json.loads(x)["id"] for x in f.read_text(encoding="utf-8").splitlines()] for f in (out, held)] == ids
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    res = CliRunner().invoke(annotate_app, ["split", str(tmp_path / "empty.jsonl"), *args[2:]])
    assert res.exit_code == 1 and "no records" in res.output
