"""The Extractor's stages and backends: projects from relations, CSV rows, ONNX Runtime = torch."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from zhie.annotation.records import Document, Relation
from zhie.formats import OutputFormat, RecordWriter, csv_rows
from zhie.inference import Extractor, ModelNotFoundError
from zhie.inference.backends import OnnxBackend, TorchBackend
from zhie.inference.projects import build_projects

TEXT = "2024年5月，青川县储能电站项目签约，总投资18亿元；储能电站项目一期投资6亿元，由蜀能公司建设。"


def _gold() -> Document:
    def ent(i, label, s):
        return {"id": f"e{i}", "label": label, "start": TEXT.index(s), "end": TEXT.index(s) + len(s), "text": s}

    second = TEXT.index("储能电站项目", TEXT.index("；"))
    ents = [ent(1, "DATE", "2024年5月"), ent(2, "LOC", "青川县"), ent(3, "PROJECT", "储能电站项目"),
            ent(4, "MONEY", "18亿元"),
            {"id": "e5", "label": "PROJECT", "start": second, "end": second + 6, "text": "储能电站项目"},
            ent(6, "MONEY", "6亿元"), ent(7, "ORG", "蜀能公司")]
    return Document(id="a1", text=TEXT, entities=ents)


class LinkNearest:
    """A stand-in relation stage: each MONEY/LOC to the PROJECT mention just before or after it."""

    name = "relations"

    def __call__(self, docs):
        out = []
        for d in docs:
            projects = [e for e in d.entities if e.label == "PROJECT"]
            rels = []
            for e in d.entities:
                if e.label in ("MONEY", "LOC"):
                    head = min(projects, key=lambda p: abs(p.start - e.start))
                    lab = "project_amount" if e.label == "MONEY" else "project_location"
                    rels.append(Relation(head=head.id, tail=e.id, label=lab, score=0.9))
            out.append(d.model_copy(update={"relations": rels}))
        return out


def test_projects_merge_mentions_by_name_and_gather_linked_amounts_and_places():
    doc = LinkNearest()([_gold()])[0]
    (p,) = build_projects(doc).projects
    assert p.name == "储能电站项目" and p.mentions == ["e3", "e5"]
    assert [a.text for a in p.amounts] == ["18亿元", "6亿元"] and [loc.text for loc in p.locations] == ["青川县"]


def test_a_project_without_relations_is_still_listed():
    (p,) = build_projects(_gold()).projects
    assert p.mentions == ["e3", "e5"] and p.amounts == [] and p.locations == []


def test_csv_has_one_row_per_project_with_context_and_a_row_for_articles_without_projects():
    doc = build_projects(LinkNearest()([_gold()])[0])
    empty = build_projects(Document(id="none", text="无关内容。"))
    buf = io.StringIO()
    writer = RecordWriter(buf, OutputFormat.csv)
    writer.write(doc)
    writer.write(empty)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows[0] == {"id": "a1", "project": "储能电站项目", "amounts": "18亿元; 6亿元", "locations": "青川县",
                       "dates": "2024年5月", "organisations": "蜀能公司"}
    assert rows[1]["id"] == "none" and rows[1]["project"] == "" and len(rows) == 2
    assert csv_rows(doc) == rows[:1]


def test_stages_run_in_order_and_predict_relations_takes_given_entities(tiny_ner_model_dir):
    ex = Extractor.load(tiny_ner_model_dir, relations=False, values=False)
    assert [s.name for s in ex.stages] == ["ner", "projects"]
    with pytest.raises(ModelNotFoundError, match="no relation model"):
        ex.predict_relations(_gold())
    ex = Extractor(ex.ner, "tiny", relations=LinkNearest())
    assert [s.name for s in ex.stages] == ["ner", "relations", "projects"]
    got = ex.predict_relations(_gold().model_dump())
    assert got.entities == _gold().entities  # given entities are kept, not re-predicted
    assert {(r.head, r.tail) for r in got.relations} == {("e3", "e2"), ("e5", "e4"), ("e5", "e6")}
    assert got.projects[0].name == "储能电站项目"


def test_warm_up_loads_what_stages_load_on_first_use(tiny_ner_model_dir):
    """`zhie serve` and `zhie bench` warm up, so that neither a first request nor a timed run loads tables."""
    from zhie.inference.values import _location_parser

    _location_parser.cache_clear()
    ex = Extractor.load(tiny_ner_model_dir, relations=False)
    assert _location_parser.cache_info().currsize == 0
    ex.warm_up()
    assert _location_parser.cache_info().currsize == 1 and _location_parser()._index is not None


def test_onnx_backend_agrees_with_torch(tiny_ner_model_dir, tmp_path):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is an optional extra (pip install zh-invest-ie[onnx])")
    import shutil

    from zhie.inference.onnx_export import export_onnx

    model_dir = tmp_path / "m"
    shutil.copytree(tiny_ner_model_dir, model_dir)
    export_onnx(model_dir, int8=False)
    ids = np.array([[101, 2769, 1762, 7028, 102, 0]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0]], dtype=np.int64)
    want, want_h = TorchBackend.load(model_dir, quantize=False).token_outputs(ids, mask, hidden=True)
    got, got_h = OnnxBackend.load(model_dir).token_outputs(ids, mask, hidden=True)
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-4)
    assert got_h.shape == want_h.shape and np.allclose(got_h, want_h, atol=1e-4)  # the shared relation head reads these
    a = Extractor.load(model_dir, quantize=False, relations=False, values=False).predict(TEXT)
    b = Extractor.load(model_dir, backend="onnx", relations=False, values=False).predict(TEXT)
    assert [(e.start, e.end, e.label) for e in a.entities] == [(e.start, e.end, e.label) for e in b.entities]
