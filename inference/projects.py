"""The last stage: one record per distinct project, gathered from PROJECT mentions and relations.

Users ask "which project, how much, where": mentions with the same name are one project, and the
amounts and places linked to any of its mentions are its amounts and places (each once, in text order).
"""
from __future__ import annotations

from collections.abc import Sequence

from zhie.annotation.records import Document, Project, ProjectPart

_FIELD = {"project_amount": "amounts", "project_location": "locations"}


def build_projects(doc: Document) -> Document:
    """`doc` with `projects` rebuilt from its entities and relations."""
    by_id = {e.id: e for e in doc.entities}
    projects: dict[str, dict] = {}
    for e in doc.sorted_entities():
        if e.label == "PROJECT":
            p = projects.setdefault(e.text, {"name": e.text, "mentions": [], "amounts": {}, "locations": {}})
            p["mentions"].append(e.id)
    name_of = {m: name for name, p in projects.items() for m in p["mentions"]}
    for r in doc.relations:
        tail = by_id[r.tail]
        parts = projects[name_of[r.head]][_FIELD[r.label]]
        best = parts.get(tail.id)
        if best is None or (r.score or 0) > (best.score or 0):
            parts[tail.id] = ProjectPart(id=tail.id, text=tail.text, score=r.score)
    order = {e.id: e.start for e in doc.entities}
    out = [Project(name=p["name"], mentions=p["mentions"],
                   amounts=sorted(p["amounts"].values(), key=lambda x: order[x.id]),
                   locations=sorted(p["locations"].values(), key=lambda x: order[x.id]))
           for p in projects.values()]
    return doc.model_copy(update={"projects": out})


class ProjectStage:
    """Stage adapter for `build_projects`."""

    name = "projects"

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        return [build_projects(d) for d in docs]
