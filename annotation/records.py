"""The canonical record (one annotated or predicted document) as pydantic models.

Gold annotations and model predictions share these types: predictions only fill the optional
`score` and `value` fields, so one reader and one evaluator serve both.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhie.annotation.labels import ENTITY_LABELS, RELATION_TYPES
from zhie.annotation.values import Value


class Entity(BaseModel):
    """A labelled span; `end` is exclusive and offsets are code-point indices into the text."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    label: str
    text: str = Field(min_length=1)
    score: float | None = None
    value: Value | None = None

    @field_validator("label")
    @classmethod
    def _known_label(cls, v: str) -> str:
        if v not in ENTITY_LABELS:
            raise ValueError(f"unknown entity label {v!r}; expected one of {', '.join(ENTITY_LABELS)}")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> "Entity":
        if self.end <= self.start:
            raise ValueError(f"entity {self.id}: end {self.end} must be greater than start {self.start}")
        if self.value is not None and self.value.kind != self.label:
            raise ValueError(f"entity {self.id}: a {self.value.kind} value on a {self.label} entity")
        return self


class Relation(BaseModel):
    """A directed link from a PROJECT entity (`head`) to a MONEY or LOC entity (`tail`)."""

    model_config = ConfigDict(extra="forbid")

    head: str
    tail: str
    label: str
    score: float | None = None

    @field_validator("label")
    @classmethod
    def _known_label(cls, v: str) -> str:
        if v not in RELATION_TYPES:
            raise ValueError(f"unknown relation label {v!r}; expected one of {', '.join(RELATION_TYPES)}")
        return v


class ProjectPart(BaseModel):
    """An entity linked to a project, repeated here (id, text, score) so a project reads on its own."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    score: float | None = None


class Project(BaseModel):
    """One distinct project of a predicted record: its PROJECT mentions (same name merged) and what
    the relations link to them. Built from entities and relations, so it carries no new facts."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    mentions: list[str] = Field(min_length=1, description="ids of the PROJECT entities naming it")
    amounts: list[ProjectPart] = Field(default_factory=list, description="MONEY entities linked by project_amount")
    locations: list[ProjectPart] = Field(default_factory=list, description="LOC entities linked by project_location")


def unicode_problem(text: str) -> str | None:
    """Why `text` is not encodable as UTF-8 (an unpaired surrogate, e.g. from JSON "\\ud800"), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"unpaired surrogate {text[exc.start]!r} at position {exc.start}: not valid Unicode text"
    return None


class Document(BaseModel):
    """One document with its entities and relations, validated as a whole.

    Extra top-level fields (source, pub_date, split, ...) are kept so that nothing a user
    supplied is lost on a read/write round trip.
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    text: str
    entities: list[Entity] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    projects: list[Project] | None = None  # predictions only; gold records leave it out

    @field_validator("text")
    @classmethod
    def _valid_unicode(cls, v: str) -> str:
        """A lone surrogate (JSON allows "\\ud800") can be neither tokenised nor written as UTF-8."""
        if problem := unicode_problem(v):
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "Document":
        n = len(self.text)
        ids: set[str] = set()
        for i, e in enumerate(self.entities):
            where = f"entities[{i}] (id {e.id})"
            if e.id in ids:
                raise ValueError(f"{where}: duplicate entity id")
            ids.add(e.id)
            if e.end > n:
                raise ValueError(f"{where}: end {e.end} is past the end of the text (length {n})")
            if self.text[e.start:e.end] != e.text:
                raise ValueError(
                    f"{where}: text[{e.start}:{e.end}] is {self.text[e.start:e.end]!r}, not {e.text!r}"
                )
        spans = sorted(self.entities, key=lambda e: (e.start, e.end))
        for a, b in zip(spans, spans[1:]):
            if b.start < a.end:
                raise ValueError(f"entities {a.id} [{a.start},{a.end}) and {b.id} [{b.start},{b.end}) overlap")
        by_id = {e.id: e for e in self.entities}
        seen: set[tuple[str, str, str]] = set()
        for i, r in enumerate(self.relations):
            where = f"relations[{i}] ({r.label} {r.head}->{r.tail})"
            for end_name, ref in (("head", r.head), ("tail", r.tail)):
                if ref not in by_id:
                    raise ValueError(f"{where}: {end_name} {ref!r} is not an entity id")
            want_head, want_tail = RELATION_TYPES[r.label]
            got_head, got_tail = by_id[r.head].label, by_id[r.tail].label
            if (got_head, got_tail) != (want_head, want_tail):
                raise ValueError(
                    f"{where}: links {got_head}->{got_tail}, but {r.label} needs {want_head}->{want_tail}"
                )
            key = (r.head, r.tail, r.label)
            if key in seen:
                raise ValueError(f"{where}: duplicate relation")
            seen.add(key)
        for i, pr in enumerate(self.projects or []):
            parts = [("mentions", "PROJECT", m) for m in pr.mentions]
            parts += [(f, want, p.id) for f, want in (("amounts", "MONEY"), ("locations", "LOC")) for p in getattr(pr, f)]
            for field, want, ref in parts:
                if ref not in by_id or by_id[ref].label != want:
                    raise ValueError(f"projects[{i}] ({pr.name}).{field}: {ref!r} is not a {want} entity id")
        return self

    def sorted_entities(self) -> list[Entity]:
        return sorted(self.entities, key=lambda e: (e.start, e.end))


class Article(BaseModel):
    """An input to prediction: `{"id","text"[,"pub_date"]}`; other fields are carried through."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    pub_date: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        """Refuse what the tokenizer and the UTF-8 output could not take, naming the field."""
        for key, v in (data.items() if isinstance(data, dict) else ()):
            problem = unicode_problem(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
            if problem:
                raise ValueError(f"{key}: {problem}")
        return data

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("is only whitespace")
        return v
