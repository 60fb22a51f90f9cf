"""Data specs fail loudly: a spec that cannot mean what was typed is an error naming it, bad lines are reported."""
import json

import pytest
from typer.testing import CliRunner

from zhie.cli import app
from zhie.training.data_specs import NEWS_ANNOTATIONS, SHARED, DataSourceError, load_spec, load_specs, parse_spec

runner = CliRunner()
GOOD = {"id": "ok", "text": "重庆新建项目总投资6亿元。",
        "entities": [{"id": "e1", "start": 0, "end": 2, "label": "LOC", "text": "重庆"}]}


def _jsonl(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("spec, words", [
    ("news", ["'news'", "name a split", "train"]),
    ("news:tset", ["'news:tset'", "unknown split 'tset'", "dev"]),
    ("news:train*two", ["'news:train*two'", "repeat count"]),
    ("news:train*0", ["'news:train*0'", "repeat count"]),
    ("pd:4k", ["'pd:4k'", "sentence count"]),
    ("cluener:dev", ["'cluener:dev'", "no ':' option"]),
])
def test_malformed_specs_are_errors_naming_the_spec(spec, words):
    with pytest.raises(DataSourceError) as err:
        parse_spec(spec)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_repeat_count_and_option_are_parsed():
    spec = parse_spec("pd:300*3")
    assert (spec.name, spec.option, spec.times) == ("pd", "300", 3)
    assert parse_spec("my/file.jsonl*2").name == "my/file.jsonl"


def test_bad_lines_of_a_jsonl_source_are_reported_and_the_rest_kept(tmp_path):
    src = _jsonl(tmp_path / "mixed.jsonl", [json.dumps(GOOD, ensure_ascii=False), "not json",
                                            json.dumps({"id": "empty", "txt": "重庆"})])
    got = load_spec(f"{src}*2")
    assert [d.id for d in got.documents] == ["ok"] and got.spec.times == 2
    assert [(r.line, r.record_id, r.field) for r in got.report.rejected] == [(2, None, None), (3, "empty", "text")]  # no text field
    lines = []
    docs = load_specs([f"{src}*2"], log=lines.append)
    assert [d.id for d in docs] == ["ok", "ok"]
    assert any("rejected:" in x and "line 3 record empty: field text: Field required" in x for x in lines), lines
    assert any("read 3, kept 1, rejected 2" in x for x in lines), lines


def test_a_source_with_no_documents_is_an_error(tmp_path):
    bad = _jsonl(tmp_path / "bad.jsonl", ["oops"])
    with pytest.raises(DataSourceError, match=r"bad.jsonl' gave no documents \(.*rejected 1\)"):
        load_spec(str(bad))
    with pytest.raises(DataSourceError, match="no such file"):
        load_spec(str(tmp_path / "missing.jsonl"))


@pytest.mark.skipif(not (SHARED / "news_raw.jsonl").exists(), reason=f"news_raw.jsonl not present at {SHARED}")
def test_news_split_loads_only_that_split():
    docs = load_spec("news:dev").documents
    stored = [json.loads(line) for line in NEWS_ANNOTATIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(docs) == sum(r["split"] == "dev" for r in stored) > 0 and {d.split for d in docs} == {"dev"}
    assert not {d.id for d in docs} & {d.id for d in load_spec("news:test").documents}


def test_cli_refuses_a_bad_spec_before_training(tmp_path):
    good = _jsonl(tmp_path / "good.jsonl", [json.dumps(GOOD, ensure_ascii=False)])
    out = tmp_path / "run"
    r = runner.invoke(app, ["train", "ner", "--data", str(good), "--dev", "news:tset", "-o", str(out)])
    assert r.exit_code == 2 and "news:tset" in r.stderr and not out.exists()
    r = runner.invoke(app, ["train", "ner", "--data", "news", "--dev", "none", "-o", str(out)])
    assert r.exit_code == 2 and "name a split" in r.stderr and not out.exists()
    r = runner.invoke(app, ["dataset", "pd:many", "-o", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "'pd:many'" in r.stderr


def test_cli_reports_rejected_lines(tmp_path):
    src = _jsonl(tmp_path / "mixed.jsonl", [json.dumps(GOOD, ensure_ascii=False), '{"id": "x"}'])
    r = runner.invoke(app, ["dataset", str(src), "-o", str(tmp_path / "out.jsonl")])
    assert r.exit_code == 0, r.output
    assert "line 2 record x: field text: Field required" in r.stderr and "read 2, kept 1, rejected 1" in r.stderr
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    empty = _jsonl(tmp_path / "empty.jsonl", [])
    r = runner.invoke(app, ["dataset", str(empty), "-o", str(tmp_path / "none.jsonl")])
    assert r.exit_code == 2 and "gave no documents" in r.stderr
