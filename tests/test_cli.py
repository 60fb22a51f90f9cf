import json

from typer.testing import CliRunner

from zhie.cli import app

runner = CliRunner()
ART = "2025年3月12日，青川县与星河动力签约，新能源装备产业园项目总投资18.5亿元。"


def _jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_predict_each_input_kind(tiny_ner_model_dir, tmp_path):
    m = ["--model", str(tiny_ner_model_dir)]
    (tmp_path / "one.txt").write_text(ART, encoding="utf-8")
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "a.txt").write_text(ART, encoding="utf-8")
    (folder / "b.txt").write_text("第二篇：" + ART, encoding="utf-8")
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "x1", "text": ART, "pub_date": "2025-03-13"},
                                                  ensure_ascii=False) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", str(tmp_path / "one.txt"), *m])
    assert r.exit_code == 0, r.output
    assert [d["id"] for d in _jsonl(r.stdout)] == ["one"] and _jsonl(r.stdout)[0]["text"] == ART
    r = runner.invoke(app, ["predict", str(folder), *m, "-o", str(tmp_path / "out.jsonl")])
    assert r.exit_code == 0
    recs = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["id"] for d in recs] == ["a", "b"]
    r = runner.invoke(app, ["predict", str(tmp_path / "in.jsonl"), *m])
    assert _jsonl(r.stdout)[0]["pub_date"] == "2025-03-13"
    r = runner.invoke(app, ["predict", "-", *m], input=ART)
    assert _jsonl(r.stdout)[0]["id"] == "stdin"
    r = runner.invoke(app, ["predict", str(tmp_path / "one.txt"), *m, "--format", "table"])
    assert r.exit_code == 0 and r.stdout.startswith("# one") and "label" in r.stdout


def test_bad_jsonl_is_reported_and_valid_lines_still_predicted(tiny_ner_model_dir, tmp_path):
    src = tmp_path / "mixed.jsonl"
    src.write_text('{"id": "ok", "text": "重庆"}\n{"id": "empty", "text": ""}\nnot json\n{"text": "no id"}\n',
                   encoding="utf-8")
    rep = tmp_path / "rep.json"
    r = runner.invoke(app, ["predict", str(src), "--model", str(tiny_ner_model_dir), "--report", str(rep)])
    assert r.exit_code == 0
    assert [d["id"] for d in _jsonl(r.stdout)] == ["ok"]
    assert "read 4, kept 1, rejected 3" in r.stderr
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert [(x["line"], x["field"]) for x in report["rejected"]] == [(2, "text"), (3, None), (4, "id")]


def test_nothing_valid_exits_non_zero(tiny_ner_model_dir, tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text("oops\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", str(src), "--model", str(tiny_ner_model_dir)])
    assert r.exit_code == 1 and "rejected 1" in r.stderr


def test_validate_and_evaluate(tmp_path):
    gold = {"id": "d", "text": "重庆投资6亿元", "entities": [
        {"id": "e1", "start": 0, "end": 2, "label": "LOC", "text": "重庆"},
        {"id": "e2", "start": 4, "end": 7, "label": "MONEY", "text": "6亿元"}], "relations": []}
    pred = {**gold, "entities": gold["entities"][:1]}
    (tmp_path / "g.jsonl").write_text(json.dumps(gold, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "p.jsonl").write_text(json.dumps(pred, ensure_ascii=False) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["validate", str(tmp_path / "g.jsonl")]).exit_code == 0
    r = runner.invoke(app, ["evaluate", str(tmp_path / "g.jsonl"), str(tmp_path / "p.jsonl"), "-o", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["entities"]["LOC"]["f1-score"] == 1.0 and rep["entities"]["MONEY"]["recall"] == 0.0
    assert rep["entities"]["micro avg"]["precision"] == 1.0 and rep["entities"]["micro avg"]["recall"] == 0.5


def test_missing_input_is_a_clear_error(tiny_ner_model_dir, tmp_path):
    r = runner.invoke(app, ["predict", str(tmp_path / "nope.txt"), "--model", str(tiny_ner_model_dir)])
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_the_cli_imports_no_heavy_library_before_a_verb_runs():
    """`zhie predict` on one article should not pay for Label Studio's SDK (0.7 s) or torch before it needs them."""
    import subprocess
    import sys

    code = ("import sys, zhie.cli; print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'label_studio_sdk', 'torch', 'transformers', 'jionlp', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
