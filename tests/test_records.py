import io
import json

import pytest
from pydantic import ValidationError

from zhie.annotation.jsonl import ReadReport, read_documents, write_jsonl
from zhie.annotation.records import Document

TEXT = "11月8日上午，欧林生物重庆研究院总投资约6亿元。"


def doc(**kw):
    base = {"id": "d1", "text": TEXT,
            "entities": [{"id": "e1", "start": 0, "end": 7, "label": "DATE", "text": "11月8日上午"},
                         {"id": "e2", "start": 8, "end": 17, "label": "PROJECT", "text": "欧林生物重庆研究院"},
                         {"id": "e3", "start": 21, "end": 24, "label": "MONEY", "text": "6亿元"}],
            "relations": [{"head": "e2", "tail": "e3", "label": "project_amount"}]}
    base.update(kw)
    return base


def test_valid_record_round_trips_through_jsonl(tmp_path):
    d = Document.model_validate(doc(source="s"))
    write_jsonl([d], tmp_path / "a.jsonl")
    back = list(read_documents(tmp_path / "a.jsonl"))
    assert back == [d] and back[0].source == "s"


@pytest.mark.parametrize("change, needle", [
    ({"entities": [{"id": "e1", "start": 0, "end": 7, "label": "DATE", "text": "11月8日下午"}]}, "not '11月8日下午'"),
    ({"entities": [{"id": "e1", "start": 20, "end": 99, "label": "MONEY", "text": "x"}]}, "past the end"),
    ({"entities": [{"id": "e1", "start": 0, "end": 7, "label": "PERSON", "text": "11月8日上午"}]}, "unknown entity label"),
    ({"entities": [{"id": "e1", "start": 0, "end": 7, "label": "DATE", "text": "11月8日上午"},
                   {"id": "e1", "start": 8, "end": 10, "label": "ORG", "text": "欧林"}]}, "duplicate entity id"),
    ({"entities": [{"id": "e1", "start": 0, "end": 7, "label": "DATE", "text": "11月8日上午"},
                   {"id": "e2", "start": 5, "end": 9, "label": "ORG", "text": "上午，欧"}]}, "overlap"),
])
def test_invalid_entities_are_rejected_with_reason(change, needle):
    with pytest.raises(ValidationError) as exc:
        Document.model_validate(doc(relations=[], **change))
    assert needle in str(exc.value)


def test_relation_must_connect_existing_entities_of_the_right_types():
    with pytest.raises(ValidationError, match="not an entity id"):
        Document.model_validate(doc(relations=[{"head": "e2", "tail": "e9", "label": "project_amount"}]))
    with pytest.raises(ValidationError, match="needs PROJECT->LOC"):
        Document.model_validate(doc(relations=[{"head": "e2", "tail": "e3", "label": "project_location"}]))
    with pytest.raises(ValidationError, match="needs PROJECT->MONEY"):
        Document.model_validate(doc(relations=[{"head": "e3", "tail": "e2", "label": "project_amount"}]))


def test_bad_lines_are_reported_and_the_rest_kept():
    good = json.dumps(doc(), ensure_ascii=False)
    bad_offset = json.dumps(doc(id="d2", relations=[], entities=[
        {"id": "e1", "start": 1, "end": 7, "label": "DATE", "text": "11月8日上午"}]), ensure_ascii=False)
    src = io.StringIO("\n".join([good, "{not json", bad_offset, '["a list"]', good.replace('"d1"', '"d3"')]) + "\n")
    rep = ReadReport("mem")
    kept = [d.id for d in read_documents(src, rep)]
    assert kept == ["d1", "d3"]
    assert (rep.read, rep.kept, len(rep.rejected)) == (5, 2, 3)
    by_line = {r.line: r for r in rep.rejected}
    assert "invalid JSON" in by_line[2].reason
    assert by_line[3].record_id == "d2" and "text[1:7]" in by_line[3].reason
    assert "JSON object" in by_line[4].reason
