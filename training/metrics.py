"""Scores: seqeval in strict IOB2 mode for entities, exact-match P/R/F1 for relations."""
from __future__ import annotations

from collections.abc import Sequence

from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from zhie.annotation.bio import to_tags
from zhie.annotation.records import Document


def entity_report(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Per-label and micro precision/recall/F1 over IOB2 tag sequences (strict: exact spans)."""
    rep = classification_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    return {k: {m: round(float(v[m]), 4) for m in ("precision", "recall", "f1-score", "support")}
            for k, v in rep.items()}


def relation_keys(doc: Document) -> set[tuple]:
    """A record's relations as (head span, tail span, label): what an exact relation match compares."""
    ents = {e.id: (e.start, e.end, e.label) for e in doc.entities}
    return {(ents[r.head], ents[r.tail], r.label) for r in doc.relations}


def evaluate_documents(gold: Sequence[Document], pred: Sequence[Document]) -> dict:
    """Compare two sets of records, matched by id: entity spans (char-level, strict) and relations."""
    pred_by_id = {p.id: p for p in pred}
    missing = [g.id for g in gold if g.id not in pred_by_id]
    if missing:
        raise ValueError(f"{len(missing)} gold records have no prediction, e.g. {missing[:3]}")
    for g in gold:
        if pred_by_id[g.id].text != g.text:
            raise ValueError(f"record {g.id}: gold and predicted texts differ")
    ents = entity_report([to_tags(g) for g in gold], [to_tags(pred_by_id[g.id]) for g in gold])
    rel: dict[str, dict] = {}
    labels = sorted({r.label for d in list(gold) + [pred_by_id[g.id] for g in gold] for r in d.relations})
    for lab in labels + ["micro avg"]:
        tp = fp = fn = 0
        for g in gold:
            gk = {k for k in relation_keys(g) if lab == "micro avg" or k[2] == lab}
            pk = {k for k in relation_keys(pred_by_id[g.id]) if lab == "micro avg" or k[2] == lab}
            tp, fp, fn = tp + len(gk & pk), fp + len(pk - gk), fn + len(gk - pk)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        rel[lab] = {"precision": round(p, 4), "recall": round(r, 4),
                    "f1-score": round(2 * p * r / (p + r) if p + r else 0.0, 4), "support": tp + fn}
    return {"documents": len(gold), "entities": ents, "relations": rel}


def format_report(rep: dict) -> str:
    """A small fixed-width table of a report's per-label scores."""
    lines = [f"{'label':<18}{'P':>8}{'R':>8}{'F1':>8}{'n':>7}"]
    for section in ("entities", "relations"):
        for lab, m in rep.get(section, {}).items():
            if lab in ("macro avg", "weighted avg"):
                continue
            lines.append(f"{lab:<18}{m['precision']:>8.3f}{m['recall']:>8.3f}{m['f1-score']:>8.3f}{int(m['support']):>7}")
    return "\n".join(lines)
