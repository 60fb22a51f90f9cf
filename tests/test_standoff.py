import json
from collections import Counter

import pytest

from zhie.annotation.records import Document
from zhie.annotation.standoff import StandoffMismatch, annotation_coverage, join_standoff, load_standoff, load_raw_texts, to_standoff
from zhie.training.data_specs import NEWS_ANNOTATIONS, SHARED

TEXT = "青川县新能源装备产业园项目总投资18.5亿元。"
DOC = Document.model_validate({"id": "x", "text": TEXT, "entities": [
    {"id": "e1", "start": 0, "end": 3, "label": "LOC", "text": "青川县"},
    {"id": "e2", "start": 3, "end": 13, "label": "PROJECT", "text": "新能源装备产业园项目"},
    {"id": "e3", "start": 16, "end": 22, "label": "MONEY", "text": "18.5亿元"}],
    "relations": [{"head": "e2", "tail": "e1", "label": "project_location"},
                  {"head": "e2", "tail": "e3", "label": "project_amount"}]})


def test_standoff_keeps_no_text_and_joins_back_to_the_same_record():
    rec = to_standoff(DOC, split="train")
    assert TEXT not in json.dumps(rec, ensure_ascii=False) and "青川县" not in json.dumps(rec, ensure_ascii=False)
    back = join_standoff(rec, TEXT)
    assert back.entities == DOC.entities and back.relations == DOC.relations and back.split == "train"


def test_changed_text_or_bad_offsets_fail_loudly_naming_the_record():
    rec = to_standoff(DOC)
    with pytest.raises(StandoffMismatch, match="record x: sha256"):
        join_standoff(rec, TEXT.replace("18.5", "19.5"))
    rec["entities"][0]["end"] = 99
    with pytest.raises(StandoffMismatch, match="record x: entity e1"):
        join_standoff(rec, TEXT)


needs_shared = pytest.mark.skipif(not (SHARED / "news_raw.jsonl").exists(),
                                  reason=f"shared corpus not present at {SHARED} (a user's clone has no ../shared)")


@needs_shared
def test_annotated_passages_join_and_split_with_traditional_text_in_each_split():
    """Annotation proceeds in rounds: every *annotated* record must join its raw text and keep the split
    rules; how many raw passages are annotated is a statistic (coverage), reported in STATS.md."""
    raw = load_raw_texts(SHARED / "news_raw.jsonl")
    docs = list(load_standoff(NEWS_ANNOTATIONS, SHARED / "news_raw.jsonl"))
    assert len({d.id for d in docs}) == len(docs), "an id is annotated twice"
    splits = Counter(d.split for d in docs)
    assert set(splits) == {"train", "dev", "test"} and 0.6 < splits["train"] / len(docs) < 0.8
    trad = Counter(d.split for d in docs if raw[d.id].get("traditional"))
    assert all(trad[s] > 0 for s in ("train", "dev", "test"))
    assert all(d.entities for d in docs)
    cov = annotation_coverage(NEWS_ANNOTATIONS, SHARED / "news_raw.jsonl")
    assert cov["annotated"] == len(docs) and cov["annotated"] + cov["unannotated"] == len(raw)
    stats = (NEWS_ANNOTATIONS.parent / "STATS.md").read_text(encoding="utf-8")
    assert f"Coverage: {cov['annotated']} of {cov['raw']} passages" in stats, "STATS.md coverage is stale"


def test_coverage_counts_annotated_passages_and_rejects_unknown_ids(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"id": f"d{i}", "text": TEXT}) + "\n" for i in range(3)), encoding="utf-8")
    ann = tmp_path / "ann.jsonl"
    ann.write_text(json.dumps({**to_standoff(DOC), "id": "d1"}) + "\n", encoding="utf-8")
    assert annotation_coverage(ann, raw) == {"raw": 3, "annotated": 1, "unannotated": 2}
    ann.write_text(json.dumps({**to_standoff(DOC), "id": "gone"}) + "\n", encoding="utf-8")
    with pytest.raises(StandoffMismatch, match="gone"):
        annotation_coverage(ann, raw)
