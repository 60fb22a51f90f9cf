"""Annotate Label Studio tasks from a text worksheet: the annotators' side of our Label Studio loop.

  python tools/ls_worksheet.py pull --project P --ids d-260:d-309 -o sheet.jsonl [--suggestions sugg.jsonl] [--blank]
  python tools/ls_worksheet.py push sheet.jsonl --project P [--lead-time 600]

`pull` writes one worksheet line per task (the format of tools/worksheet.py: entities as
[LABEL, SURFACE, START] in text order, relations as [HEAD_INDEX, TAIL_INDEX, LABEL]) pre-filled with
the task's model prediction, as the Label Studio editor shows it; `--blank` leaves them empty (a
blind pass). `--suggestions` also saves the predictions as canonical records, to score them later
against the final annotations. `push` checks every line (offsets, overlaps, relation types) and
submits it as an annotation of its task, as the editor's Submit does (result regions and relations,
lead time, parent prediction). Tasks already annotated are refused unless `--update` is given.
The URL and key come from LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from label_studio_sdk import LabelStudio  # noqa: E402

from zhie.annotation.labelstudio.convert import (DOC_ID_KEY, document_to_result,  # noqa: E402
                                                 result_to_document)
from zhie.annotation.labelstudio.config import TEXT_KEY  # noqa: E402
from zhie.annotation.records import Document  # noqa: E402
from tools.worksheet import resolve  # noqa: E402


def _client() -> LabelStudio:
    return LabelStudio(base_url=os.environ["LABEL_STUDIO_URL"], api_key=os.environ["LABEL_STUDIO_API_KEY"])


def _project_id(ls: LabelStudio, title: str) -> int:
    ids = [p.id for p in ls.projects.list(title=title) if p.title == title]
    if len(ids) != 1:
        raise SystemExit(f"error: {len(ids)} projects titled {title!r}")
    return int(ids[0])


def _in_range(doc_id: str, spec: str) -> bool:
    lo, _, hi = spec.partition(":")
    n = int(doc_id.split("-")[1])
    return int(lo.split("-")[1]) <= n <= int((hi or lo).split("-")[1])


def _tasks(ls: LabelStudio, pid: int) -> list[Any]:
    return list(ls.tasks.list(project=pid, fields="all", page_size=200))


def to_sheet(doc: Document, task_id: int) -> dict[str, Any]:
    ents = doc.sorted_entities()
    index = {e.id: i for i, e in enumerate(ents)}
    return {"id": doc.id, "task": task_id,
            "entities": [[e.label, e.text, e.start] for e in ents],
            "relations": [[index[r.head], index[r.tail], r.label] for r in doc.relations]}


def pull(a: argparse.Namespace) -> None:
    ls = _client()
    pid = _project_id(ls, a.project)
    sheets, suggestions = [], []
    for t in _tasks(ls, pid):
        data = t.data or {}
        doc_id = data.get(DOC_ID_KEY)
        if not isinstance(doc_id, str) or not _in_range(doc_id, a.ids):
            continue
        text = data[TEXT_KEY]
        preds = [p if isinstance(p, dict) else p.dict() for p in (t.predictions or [])]
        pred = max(preds, key=lambda p: p.get("id") or 0) if preds else None
        doc = Document(id=doc_id, text=text)
        if pred is not None:
            doc, _ = result_to_document(doc_id, text, {}, pred.get("result") or [], f"task {t.id} prediction")
            suggestions.append(doc)
        sheets.append(to_sheet(Document(id=doc_id, text=text) if a.blank else doc, int(t.id)))
    sheets.sort(key=lambda s: int(s["id"].split("-")[1]))
    with open(a.output, "w", encoding="utf-8") as fh:
        for s in sheets:
            fh.write(json.dumps(s, ensure_ascii=False) + "\n")
    if a.suggestions:
        with open(a.suggestions, "w", encoding="utf-8") as fh:
            for d in suggestions:
                fh.write(json.dumps(d.model_dump(exclude_none=True), ensure_ascii=False) + "\n")
    print(f"pulled {len(sheets)} tasks ({len(suggestions)} with a prediction) -> {a.output}", file=sys.stderr)


def push(a: argparse.Namespace) -> None:
    ls = _client()
    pid = _project_id(ls, a.project)
    tasks = {int(t.id): t for t in _tasks(ls, pid)}
    errors, done = [], 0
    for n, line in enumerate(open(a.sheet, encoding="utf-8"), 1):
        if not line.strip():
            continue
        sheet = json.loads(line)
        task = tasks.get(int(sheet.get("task", -1)))
        if task is None or (task.data or {}).get(DOC_ID_KEY) != sheet["id"]:
            errors.append(f"line {n} ({sheet.get('id')}): task {sheet.get('task')} is not this record's task")
            continue
        try:
            doc = resolve(sheet, task.data[TEXT_KEY])
        except ValueError as exc:
            errors.append(f"line {n} ({sheet['id']}): {exc}")
            continue
        if task.annotations and not a.update:
            errors.append(f"line {n} ({sheet['id']}): task {task.id} is already annotated (use --update)")
            continue
        preds = [p if isinstance(p, dict) else p.dict() for p in (task.predictions or [])]
        parent = max((p["id"] for p in preds if p.get("id")), default=None)
        for old in task.annotations or []:
            ls.annotations.delete(id=(old if isinstance(old, dict) else old.dict())["id"])
        ls.annotations.create(id=int(task.id), result=document_to_result(doc), was_cancelled=False,
                              ground_truth=False, lead_time=a.lead_time, parent_prediction=parent, project=pid)
        done += 1
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print(f"submitted {done} annotations, {len(errors)} lines refused", file=sys.stderr)
    if errors:
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pull")
    p.add_argument("--project", required=True)
    p.add_argument("--ids", required=True, help="record id range, e.g. d-260:d-309")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--suggestions")
    p.add_argument("--blank", action="store_true", help="empty worksheet (blind pass, no suggestions)")
    p.set_defaults(func=pull)
    q = sub.add_parser("push")
    q.add_argument("sheet")
    q.add_argument("--project", required=True)
    q.add_argument("--lead-time", type=float, default=None, help="seconds spent, as the editor reports it")
    q.add_argument("--update", action="store_true", help="replace an existing annotation")
    q.set_defaults(func=push)
    a = ap.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
