"""The rule a user would write instead of a relation model, kept as the baseline it must beat:
link each amount (MONEY) and place (LOC) to the nearest PROJECT in the same sentence."""
from __future__ import annotations

from collections.abc import Sequence

from zhie.annotation.records import Document, Entity, Relation
from zhie.models.relation import HEAD_LABEL, TAIL_LABEL_TO_RELATION, sentence_index, split_sentences


def _gap(a: Entity, b: Entity) -> int:
    """Characters between two non-overlapping spans."""
    return b.start - a.end if a.end <= b.start else a.start - b.end


def nearest_project(doc: Document) -> Document:
    """A copy of `doc` whose relations link every MONEY/LOC to the closest PROJECT of its sentence
    (ties go to the PROJECT before it); entities without a PROJECT in their sentence stay unlinked."""
    sents = split_sentences(doc.text)
    heads = [(sentence_index(sents, e.start), e) for e in doc.sorted_entities() if e.label == HEAD_LABEL]
    rels = []
    for t in doc.sorted_entities():
        if t.label not in TAIL_LABEL_TO_RELATION:
            continue
        sid = sentence_index(sents, t.start)
        near = [h for s, h in heads if s == sid]
        if near:
            best = min(near, key=lambda h: (_gap(h, t), h.start > t.start))
            rels.append(Relation(head=best.id, tail=t.id, label=TAIL_LABEL_TO_RELATION[t.label]))
    return doc.model_copy(update={"relations": rels})


def nearest_project_all(docs: Sequence[Document]) -> list[Document]:
    return [nearest_project(d) for d in docs]
