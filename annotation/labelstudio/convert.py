"""Canonical records <-> Label Studio tasks, annotations and predictions: lossless and strict.

Mapping (document -> task):
- task data: {"text": doc.text, "doc_id": doc.id, **extra top-level fields (pub_date, source, ...)};
- entity -> region {"id": entity.id, "from_name": "label", "to_name": "text", "type": "labels",
  "value": {"start", "end", "text", "labels": [label]}}, plus "score" and "meta": {"value": ...}
  when the entity has them;
- relation -> {"type": "relation", "from_id": head, "to_id": tail, "direction": "right",
  "labels": [label]}, plus "score".
So canonical -> Label Studio -> canonical is the identity.

Reading an export, every task ends up kept or rejected with a reason, never dropped:
- no annotation: rejected (unannotated); every annotation cancelled/skipped: rejected (cancelled);
- several live annotations: policy "ground truth first, then latest" (updated_at, then created_at,
  then annotation id); the others are named in a note;
- a region whose text[start:end] differs from its text, a relation to a missing region, an unknown
  label, overlapping spans, ...: rejected (invalid), naming the field;
- a relation drawn but left without a label is dropped, with a note; the task is kept;
- a relation drawn tail -> head (MONEY -> PROJECT) is read head -> tail, with a note.
A task without data.doc_id (made in the UI) gets the id "ls-<task id>".
Only the full JSON export carries all of this: `read_export` names any other export format given.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

from pydantic import ValidationError

from zhie.annotation.labels import ENTITY_LABELS, RELATION_TYPES
from zhie.annotation.labelstudio.config import FROM_NAME, TEXT_KEY, TO_NAME
from zhie.annotation.labelstudio.select import uncertainty
from zhie.annotation.records import Document

DOC_ID_KEY = "doc_id"
_RECORD_FIELDS = ("id", "text", "entities", "relations")


class ConversionError(ValueError):
    """One reason a task cannot become a record; `field` is a path inside the task."""

    def __init__(self, field: str, reason: str, kind: str = "invalid") -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.kind = field, reason, kind


@dataclass
class TaskIssue:
    task_id: int | str | None
    doc_id: str | None
    kind: str
    field: str | None
    reason: str

    def __str__(self) -> str:
        doc = f" (doc {self.doc_id})" if self.doc_id else ""
        fld = f" {self.field}:" if self.field else ""
        return f"task {self.task_id}{doc}: {self.kind}:{fld} {self.reason}"


@dataclass
class ConvertReport:
    """Every task read is counted: `kept + len(rejected) == tasks` always holds."""

    source: str
    tasks: int = 0
    kept: int = 0
    rejected: list[TaskIssue] = field(default_factory=list)
    notes: list[TaskIssue] = field(default_factory=list)

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for r in self.rejected:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        detail = f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds else ""
        return (f"{self.source}: {self.tasks} tasks: kept {self.kept}, rejected {len(self.rejected)}{detail}, "
                f"notes {len(self.notes)}")

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "tasks": self.tasks, "kept": self.kept,
                "rejected": [asdict(r) for r in self.rejected], "notes": [asdict(n) for n in self.notes]}


# ---------------------------------------------------------------- canonical -> Label Studio

def task_data(doc: Document) -> dict[str, Any]:
    extras = dict(doc.model_extra or {})
    if DOC_ID_KEY in extras:
        raise ValueError(f"record {doc.id}: field {DOC_ID_KEY!r} is reserved for the record id in Label Studio")
    return {TEXT_KEY: doc.text, DOC_ID_KEY: doc.id, **extras}


def document_to_result(doc: Document) -> list[dict[str, Any]]:
    """Regions then relations, in record order."""
    result: list[dict[str, Any]] = []
    for e in doc.entities:
        region: dict[str, Any] = {
            "id": e.id, "from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
            "value": {"start": e.start, "end": e.end, "text": e.text, "labels": [e.label]},
        }
        if e.score is not None:
            region["score"] = e.score
        if e.value is not None:
            region["meta"] = {"value": e.value.model_dump(mode="json")}
        result.append(region)
    for r in doc.relations:
        rel: dict[str, Any] = {"type": "relation", "from_id": r.head, "to_id": r.tail, "direction": "right",
                               "labels": [r.label]}
        if r.score is not None:
            rel["score"] = r.score
        result.append(rel)
    return result


def document_to_prediction(doc: Document, model_version: str) -> dict[str, Any]:
    """A Label Studio prediction; its score is 1 - uncertainty (see select.py) so LS sorts alike."""
    return {"model_version": model_version, "score": round(1.0 - uncertainty(doc), 6),
            "result": document_to_result(doc)}


def document_to_task(doc: Document, *, annotated: bool = False, prediction: Document | None = None,
                     model_version: str | None = None) -> dict[str, Any]:
    """A task for import: the record's entities as an annotation if `annotated`, plus a prediction."""
    task: dict[str, Any] = {"data": task_data(doc)}
    if annotated:
        task["annotations"] = [{"result": document_to_result(doc)}]
    if prediction is not None:
        if prediction.text != doc.text:
            raise ValueError(f"record {doc.id}: the prediction was made for a different text")
        if not model_version:
            raise ValueError(f"record {doc.id}: a prediction needs a model_version")
        task["predictions"] = [document_to_prediction(prediction, model_version)]
    return task


# ---------------------------------------------------------------- Label Studio -> canonical

def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _score(item: dict[str, Any], where: str) -> float | None:
    s = item.get("score")
    if s is None:
        return None
    if not isinstance(s, (int, float)) or isinstance(s, bool):
        raise ConversionError(f"{where}.score", f"score {s!r} is not a number")
    return float(s)


def _region(item: dict[str, Any], text: str, where: str) -> dict[str, Any]:
    if item.get("from_name") != FROM_NAME or item.get("to_name") != TO_NAME:
        raise ConversionError(where, f"region from {item.get('from_name')!r} to {item.get('to_name')!r}; "
                                     f"expected {FROM_NAME!r} to {TO_NAME!r}")
    rid = item.get("id")
    if not isinstance(rid, str) or not rid:
        raise ConversionError(f"{where}.id", "region without an id")
    value = item.get("value")
    if not isinstance(value, dict):
        raise ConversionError(f"{where}.value", "region without a value object")
    start, end, vtext, labels = value.get("start"), value.get("end"), value.get("text"), value.get("labels")
    if not (_int(start) and _int(end)):
        raise ConversionError(f"{where}.value", f"start {start!r} and end {end!r} must be integers")
    if not (0 <= start < end <= len(text)):
        raise ConversionError(f"{where}.value", f"span [{start},{end}) is not inside the text (length {len(text)})")
    if not isinstance(vtext, str):
        raise ConversionError(f"{where}.value.text", "region without its text")
    if text[start:end] != vtext:
        raise ConversionError(f"{where}.value.text", f"text[{start}:{end}] is {text[start:end]!r}, not {vtext!r}")
    if not isinstance(labels, list) or len(labels) != 1:
        raise ConversionError(f"{where}.value.labels", f"a region needs exactly one label, got {labels!r}")
    if labels[0] not in ENTITY_LABELS:
        raise ConversionError(f"{where}.value.labels", f"unknown entity label {labels[0]!r}")
    ent: dict[str, Any] = {"id": rid, "start": start, "end": end, "label": labels[0], "text": vtext}
    if (score := _score(item, where)) is not None:
        ent["score"] = score
    meta = item.get("meta")
    if isinstance(meta, dict) and "value" in meta:
        ent["value"] = meta["value"]
    return ent


def _relations(item: dict[str, Any], labels_of: dict[str, str], where: str,
               notes: list[str]) -> list[dict[str, Any]]:
    a, b = item.get("from_id"), item.get("to_id")
    for name, ref in (("from_id", a), ("to_id", b)):
        if ref not in labels_of:
            raise ConversionError(f"{where}.{name}", f"relation to missing region {ref!r}")
    assert isinstance(a, str) and isinstance(b, str)
    direction = item.get("direction", "right")
    if direction == "left":
        a, b = b, a
    elif direction not in ("right", "bi"):
        raise ConversionError(f"{where}.direction", f"unknown direction {direction!r}")
    labels = item.get("labels")
    if not labels:  # drawn but never labelled: a slip that should not cost the rest of the task
        notes.append(f"{where}: relation {a}->{b} has no label; dropped")
        return []
    if not isinstance(labels, list):
        raise ConversionError(f"{where}.labels", f"relation {a}->{b}: labels {labels!r} is not a list")
    out = []
    for lab in labels:
        if lab not in RELATION_TYPES:
            raise ConversionError(f"{where}.labels", f"unknown relation label {lab!r}")
        want, got = RELATION_TYPES[lab], (labels_of[a], labels_of[b])
        if got == want:
            head, tail = a, b
        elif got == want[::-1]:
            head, tail = b, a
            if direction != "bi":
                notes.append(f"{where}: {lab} drawn from {got[0]} {a} to {got[1]} {b}; read as {b}->{a}")
        else:
            raise ConversionError(f"{where}.labels", f"{lab} links {got[0]} {a} and {got[1]} {b}, "
                                                     f"but needs {want[0]}->{want[1]}")
        rel: dict[str, Any] = {"head": head, "tail": tail, "label": lab}
        if (score := _score(item, where)) is not None:
            rel["score"] = score
        out.append(rel)
    return out


def result_to_document(doc_id: str, text: str, extras: dict[str, Any], result: list[Any],
                       where: str = "result") -> tuple[Document, list[str]]:
    """Read an annotation's or prediction's result as a record; returns it and notes worth showing."""
    if not isinstance(result, list):
        raise ConversionError(where, "result is not a list")
    entities: list[dict[str, Any]] = []
    relation_items: list[tuple[str, dict[str, Any]]] = []
    for j, item in enumerate(result):
        at = f"{where}[{j}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "relation":
            relation_items.append((at, item))
        elif kind == "labels":
            ent = _region(item, text, at)
            if any(e["id"] == ent["id"] for e in entities):
                raise ConversionError(f"{at}.id", f"duplicate region id {ent['id']!r}")
            entities.append(ent)
        else:
            raise ConversionError(f"{at}.type", f"unexpected result item of type {kind!r}")
    labels_of = {e["id"]: e["label"] for e in entities}
    notes: list[str] = []
    relations = [r for at, item in relation_items for r in _relations(item, labels_of, at, notes)]
    try:
        doc = Document.model_validate({**extras, "id": doc_id, "text": text, "entities": entities,
                                       "relations": relations})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConversionError(f"{where}{'.' + loc if loc else ''}", err["msg"].removeprefix("Value error, ")) from None
    return doc, notes


def choose_annotation(annotations: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Policy for several annotations: ground truth first, then the latest; returns (chosen, others).

    Cancelled (skipped) annotations never count; raises ConversionError when none is left.
    """
    if not annotations:
        raise ConversionError("annotations", "the task has no annotation", kind="unannotated")
    live = [a for a in annotations if not a.get("was_cancelled")]
    if not live:
        raise ConversionError("annotations", f"all {len(annotations)} annotation(s) were cancelled (skipped)",
                              kind="cancelled")

    def rank(a: dict[str, Any]) -> tuple[bool, str, str, int]:
        aid = a.get("id")
        return (bool(a.get("ground_truth")), str(a.get("updated_at") or ""), str(a.get("created_at") or ""),
                aid if _int(aid) else -1)

    ordered = sorted(live, key=rank, reverse=True)
    return ordered[0], ordered[1:]


def task_to_document(task: Any) -> tuple[Document, list[str]]:
    """One exported task (Label Studio's JSON export format) as a record, by the policy above."""
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise ConversionError("data", "not a Label Studio task (no data object)")
    data: dict[str, Any] = task["data"]
    text = data.get(TEXT_KEY)
    if not isinstance(text, str):
        raise ConversionError(f"data.{TEXT_KEY}", "the task has no text")
    doc_id = data.get(DOC_ID_KEY)
    if doc_id is None:
        doc_id = f"ls-{task.get('id')}"
    if not isinstance(doc_id, str) or not doc_id:
        raise ConversionError(f"data.{DOC_ID_KEY}", f"record id {doc_id!r} is not a non-empty string")
    extras = {k: v for k, v in data.items() if k not in (TEXT_KEY, DOC_ID_KEY)}
    if clash := [k for k in extras if k in _RECORD_FIELDS]:
        raise ConversionError(f"data.{clash[0]}", f"task data key {clash[0]!r} collides with a record field")
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        raise ConversionError("annotations", "annotations is not a list")
    chosen, others = choose_annotation(annotations)
    where = f"annotations[id={chosen.get('id')}].result"
    doc, notes = result_to_document(doc_id, text, extras, chosen.get("result") or [], where)
    if others:
        why = "ground truth" if chosen.get("ground_truth") else "latest"
        notes.insert(0, f"{len(others) + 1} annotations: kept {chosen.get('id')} ({why}), set aside "
                        + ", ".join(str(o.get("id")) for o in others))
    return doc, notes


def convert_export(tasks: Iterable[Any], source: str) -> tuple[list[Document], ConvertReport]:
    """Convert a full JSON export; every task is kept or rejected with its reason in the report."""
    report = ConvertReport(source)
    docs: list[Document] = []
    first_task: dict[str, int | str | None] = {}
    for i, task in enumerate(tasks):
        report.tasks += 1
        tid = task.get("id", f"#{i}") if isinstance(task, dict) else f"#{i}"
        data = task.get("data") if isinstance(task, dict) else None
        did = data.get(DOC_ID_KEY) if isinstance(data, dict) and isinstance(data.get(DOC_ID_KEY), str) else None
        try:
            doc, notes = task_to_document(task)
        except ConversionError as exc:
            report.rejected.append(TaskIssue(tid, did, exc.kind, exc.field, exc.reason))
            continue
        if doc.id in first_task:
            report.rejected.append(TaskIssue(tid, doc.id, "duplicate", f"data.{DOC_ID_KEY}",
                                             f"record id already read from task {first_task[doc.id]}"))
            continue
        first_task[doc.id] = tid
        report.kept += 1
        report.notes.extend(TaskIssue(tid, doc.id, "note", None, n) for n in notes)
        docs.append(doc)
    return docs, report


CHOOSE_JSON = "export again choosing JSON (Export -> JSON), the only format that keeps relations and ids"


def read_export(raw: bytes) -> list[Any]:
    """The tasks of a full JSON export; any other export format raises ValueError naming it.

    Label Studio offers JSON-MIN, CSV, TSV, CONLL2003 and zipped formats beside JSON; given one of
    them the converter would otherwise find no task or only part of each (no relations).
    """
    if raw.startswith(b"PK\x03\x04"):
        raise ValueError(f"this is a ZIP archive (a COCO, YOLO or similar export), not a JSON export; {CHOOSE_JSON}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); {CHOOSE_JSON}") from None
    first = text.lstrip().split("\n", 1)[0].strip()
    try:
        tasks = json.loads(text)
    except json.JSONDecodeError as exc:
        if first.startswith("{"):
            raise ValueError("this is JSONL (one record per line), not a Label Studio export: records need "
                             "no conversion") from None
        if first.startswith("-DOCSTART-"):
            kind = "a CONLL2003 export"
        elif "\t" in first:
            kind = "a TSV export"
        elif "," in first:
            kind = "a CSV export"
        else:
            kind = f"not JSON ({exc.msg} at line {exc.lineno})"
        raise ValueError(f"this is {kind}; {CHOOSE_JSON}") from None
    if not isinstance(tasks, list):
        raise ValueError(f"expected a list of tasks (Label Studio's JSON export); {CHOOSE_JSON}")
    dicts = [t for t in tasks if isinstance(t, dict)]
    if dicts and not any("data" in t for t in dicts):
        raise ValueError("this is a JSON-MIN export (flat rows without data and annotations, no relations); "
                         + CHOOSE_JSON)
    return tasks
