"""Where entity predictions go wrong: every gold and every predicted span put in exactly one category.

Strict F1 says how often a span is wrong, not how. This sorts the mistakes so that a change of
recipe can be aimed at the kind that dominates (a boundary cut wrongly versus a thing not found).

Assignment order (each span counted once; spans of one side never overlap, so an exact match is the
only span of the other side that touches it):

gold span                                      predicted span
1. exact: a prediction with its start, end, label   1. exact: the same, seen from the prediction
2. boundary: a prediction of the same label         2. boundary: a gold span of the same label
   overlaps it (but not exactly)                       overlaps it (but not exactly)
3. wrong label: only predictions of other labels    3. wrong label: only gold spans of other labels
   overlap it                                          overlap it
4. missed: no prediction overlaps it                4. spurious: no gold span overlaps it

so `exact + boundary + wrong_label + missed == gold` and `exact + boundary + wrong_label + spurious
== pred`, per label (gold spans by their gold label, predictions by their predicted label).

Boundary kinds, gold side: `split` (two or more same-label predictions overlap it), else, from the one
overlapping prediction: `cut_short` (inside the gold span), `too_long` (contains it), `shifted`
(crosses one edge). Prediction side: `merged` (overlaps two or more same-label gold spans), else
`cut_short` / `too_long` / `shifted` in the same sense. Wrong-label kinds: `same_span` or `overlapping`.

Sub-counts that may overlap each other (gold side, the patterns named in issue 10):
`split_at_dash_or_bracket` (a split whose cut lies at a dash or bracket), `split_after_first_char`
(the first piece is the gold span's first character alone), and `loc_plus_leftovers` (a non-LOC gold
span with a shorter LOC prediction inside it, e.g. an organisation read as its place name; any category).

Worst examples (gold spans per boundary kind, wrong label and missed; predictions for spurious):
ranked by how many characters of the example's extent (the spans involved) carry a different IOB2
tag in gold and prediction, the longer span first on ties, then document order. They quote the documents, so reports belong in `runs/`, never in the repository.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from zhie.annotation.bio import to_tags
from zhie.annotation.labels import ENTITY_LABELS
from zhie.annotation.records import Document, Entity

GOLD_CATEGORIES = ("exact", "boundary", "wrong_label", "missed")
PRED_CATEGORIES = ("exact", "boundary", "wrong_label", "spurious")
GOLD_BOUNDARY_KINDS = ("split", "cut_short", "too_long", "shifted")
PRED_BOUNDARY_KINDS = ("merged", "cut_short", "too_long", "shifted")
PATTERNS = ("split_at_dash_or_bracket", "split_after_first_char", "loc_plus_leftovers")
EXAMPLE_CATEGORIES = GOLD_BOUNDARY_KINDS + ("wrong_label", "missed", "spurious")
CUT_MARKS = frozenset("-‐‑‒–—―－~～()（）[]［］【】〔〕〈〉《》<>「」『』")


class RecordMismatchError(ValueError):
    """Gold and predicted files that do not describe the same documents."""


def pair_documents(gold: Sequence[Document], pred: Sequence[Document]) -> list[tuple[Document, Document]]:
    """Gold and prediction matched by id, in gold order; any id on one side only, a repeated id or
    a different text is an error naming the record (a partial analysis would mislead)."""
    for side, docs in (("gold", gold), ("predicted", pred)):
        seen: set[str] = set()
        for d in docs:
            if d.id in seen:
                raise RecordMismatchError(f"record {d.id}: appears twice in the {side} records")
            seen.add(d.id)
    by_id = {p.id: p for p in pred}
    gold_ids = {g.id for g in gold}
    if missing := [g.id for g in gold if g.id not in by_id]:
        raise RecordMismatchError(f"{len(missing)} gold records have no prediction: record {', '.join(missing[:5])}")
    if extra := [p.id for p in pred if p.id not in gold_ids]:
        raise RecordMismatchError(f"{len(extra)} predicted records have no gold record: record {', '.join(extra[:5])}")
    for g in gold:
        p = by_id[g.id]
        if p.text != g.text:
            at = next((i for i, (a, b) in enumerate(zip(g.text, p.text)) if a != b), min(len(g.text), len(p.text)))
            raise RecordMismatchError(f"record {g.id}: gold and predicted texts differ (first at character {at}; "
                                      f"lengths {len(g.text)} and {len(p.text)})")
    return [(g, by_id[g.id]) for g in gold]


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _same_span(a: Entity, b: Entity) -> bool:
    return a.start == b.start and a.end == b.end


def _edge_kind(inner: Entity, outer: Entity) -> str:
    """How predicted/gold span `inner` sits against `outer`, seen from `outer`."""
    if outer.start <= inner.start and inner.end <= outer.end:
        return "cut_short"
    if inner.start <= outer.start and outer.end <= inner.end:
        return "too_long"
    return "shifted"


def _cut_at_mark(text: str, pieces: list[Entity]) -> bool:
    """True if some cut between consecutive pieces touches a dash or bracket (in the gap or either side)."""
    return any(set(text[max(a.end - 1, 0):b.start + 1]) & CUT_MARKS for a, b in zip(pieces, pieces[1:]))


@dataclass
class _Outcome:
    """One span's category and, for the worst examples, what it was compared with."""

    doc: Document
    side: str  # "gold" or "pred"
    span: Entity
    category: str
    kind: str | None = None
    others: list[Entity] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    as_label: str | None = None


def _gold_outcome(doc: Document, g: Entity, preds: list[Entity]) -> _Outcome:
    touching = [p for p in preds if _overlaps(p, g)]
    same = [p for p in touching if p.label == g.label]
    patterns = ["loc_plus_leftovers"] if g.label != "LOC" and any(
        p.label == "LOC" and g.start <= p.start and p.end <= g.end and p.end - p.start < g.end - g.start
        for p in touching) else []
    if len(same) == 1 and _same_span(same[0], g):
        return _Outcome(doc, "gold", g, "exact", others=touching)
    if len(same) > 1:
        patterns += ["split_at_dash_or_bracket"] * _cut_at_mark(doc.text, same)
        patterns += ["split_after_first_char"] * (same[0].start == g.start and same[0].end == g.start + 1)
        return _Outcome(doc, "gold", g, "boundary", "split", touching, patterns)
    if same:
        return _Outcome(doc, "gold", g, "boundary", _edge_kind(same[0], g), touching, patterns)
    if touching:
        best = max(touching, key=lambda p: min(p.end, g.end) - max(p.start, g.start))
        kind = "same_span" if any(_same_span(p, g) for p in touching) else "overlapping"
        return _Outcome(doc, "gold", g, "wrong_label", kind, touching, patterns, as_label=best.label)
    return _Outcome(doc, "gold", g, "missed", patterns=patterns)


def _pred_outcome(doc: Document, p: Entity, golds: list[Entity]) -> _Outcome:
    touching = [g for g in golds if _overlaps(g, p)]
    same = [g for g in touching if g.label == p.label]
    if len(same) == 1 and _same_span(same[0], p):
        return _Outcome(doc, "pred", p, "exact", others=touching)
    if len(same) > 1:
        return _Outcome(doc, "pred", p, "boundary", "merged", touching)
    if same:
        return _Outcome(doc, "pred", p, "boundary", _edge_kind(p, same[0]), touching)
    if touching:
        kind = "same_span" if any(_same_span(g, p) for g in touching) else "overlapping"
        return _Outcome(doc, "pred", p, "wrong_label", kind, touching)
    return _Outcome(doc, "pred", p, "spurious")


def _empty_counts() -> dict:
    return {
        "gold": {"total": 0, **dict.fromkeys(GOLD_CATEGORIES, 0),
                 "boundary_kinds": dict.fromkeys(GOLD_BOUNDARY_KINDS, 0),
                 "wrong_label_kinds": {"same_span": 0, "overlapping": 0},
                 "wrong_label_as": dict.fromkeys(ENTITY_LABELS, 0),
                 "patterns": dict.fromkeys(PATTERNS, 0)},
        "pred": {"total": 0, **dict.fromkeys(PRED_CATEGORIES, 0),
                 "boundary_kinds": dict.fromkeys(PRED_BOUNDARY_KINDS, 0),
                 "wrong_label_kinds": {"same_span": 0, "overlapping": 0}},
    }


def _count(counts: dict, o: _Outcome) -> None:
    c = counts[o.side]
    c["total"] += 1
    c[o.category] += 1
    if o.category == "boundary":
        c["boundary_kinds"][o.kind] += 1
    elif o.category == "wrong_label":
        c["wrong_label_kinds"][o.kind] += 1
        if o.as_label:
            c["wrong_label_as"][o.as_label] += 1
    for pat in o.patterns:
        c["patterns"][pat] += 1


def _span(e: Entity) -> dict:
    return {"start": e.start, "end": e.end, "label": e.label, "text": e.text}


def _marked(text: str, lo: int, hi: int, spans: list[Entity]) -> str:
    """text[lo:hi] with each span bracketed and labelled: ...[南宁]LOC加快..."""
    out, at = [], lo
    for e in sorted(spans, key=lambda s: s.start):
        s, t = max(e.start, lo), min(e.end, hi)
        out += [text[at:s], "[", text[s:t], "]", e.label]
        at = t
    return "".join(out + [text[at:hi]])


def _example(o: _Outcome, gold_tags: list[str], pred_tags: list[str], window: int) -> dict:
    spans = [o.span, *o.others]
    lo, hi = min(e.start for e in spans), max(e.end for e in spans)
    gold = [o.span] if o.side == "gold" else o.others
    pred = o.others if o.side == "gold" else [o.span]
    c0, c1 = max(lo - window, 0), min(hi + window, len(o.doc.text))
    return {
        "record": o.doc.id,
        "label": o.span.label,
        "category": o.kind if o.category == "boundary" else o.category,
        "severity": sum(gold_tags[i] != pred_tags[i] for i in range(lo, hi)),
        "gold": [_span(e) for e in gold],
        "pred": [_span(e) for e in pred],
        "context": {"start": c0, "end": c1, "gold": _marked(o.doc.text, c0, c1, gold),
                    "pred": _marked(o.doc.text, c0, c1, pred)},
    }


def analyse(gold: Sequence[Document], pred: Sequence[Document], top: int = 10, window: int = 15) -> dict:
    """Per-label category counts (see the module docstring) and the `top` worst examples per category,
    each quoted with `window` characters either side."""
    counts = {lab: _empty_counts() for lab in ENTITY_LABELS}
    total = _empty_counts()
    examples: dict[str, list[tuple]] = {c: [] for c in EXAMPLE_CATEGORIES}
    for n, (g, p) in enumerate(pair_documents(gold, pred)):
        g_ents, p_ents = g.sorted_entities(), p.sorted_entities()
        outcomes = [_gold_outcome(g, e, p_ents) for e in g_ents] + [_pred_outcome(p, e, g_ents) for e in p_ents]
        gold_tags, pred_tags = to_tags(g), to_tags(p)
        for o in outcomes:
            _count(counts[o.span.label], o)
            _count(total, o)
            cat = o.kind if o.category == "boundary" else o.category
            if (o.side == "gold" and o.category != "exact") or cat == "spurious":  # the pred side adds only spurious
                ex = _example(o, gold_tags, pred_tags, window)
                examples[cat].append((-ex["severity"], o.span.start - o.span.end, n, o.span.start, ex))
    worst = {c: [ex for *_, ex in sorted(rows, key=lambda r: r[:4])[:top]] for c, rows in examples.items()}
    return {"documents": len(gold), "window": window, "labels": counts, "total": total, "examples": worst}


TABLE_COLUMNS = (  # (header, side, path in the counts)
    ("gold", "gold", ("total",)), ("exact", "gold", ("exact",)), ("boundary", "gold", ("boundary",)),
    ("split", "gold", ("boundary_kinds", "split")), ("short", "gold", ("boundary_kinds", "cut_short")),
    ("long", "gold", ("boundary_kinds", "too_long")), ("shifted", "gold", ("boundary_kinds", "shifted")),
    ("wrong label", "gold", ("wrong_label",)), ("missed", "gold", ("missed",)),
    ("pred", "pred", ("total",)), ("p.boundary", "pred", ("boundary",)),
    ("p.wrong label", "pred", ("wrong_label",)), ("spurious", "pred", ("spurious",)),
)


def table_rows(report: dict) -> list[tuple[str, list[int]]]:
    """One row per label and a total row, in TABLE_COLUMNS order."""
    rows = []
    for name, counts in [*report["labels"].items(), ("total", report["total"])]:
        vals = []
        for _, side, path in TABLE_COLUMNS:
            v = counts[side]
            for key in path:
                v = v[key]
            vals.append(v)
        rows.append((name, vals))
    return rows


def format_table(report: dict, markdown: bool = False) -> str:
    """The per-label counts as a fixed-width table, or as a Markdown table (numbers only)."""
    heads = [h for h, _, _ in TABLE_COLUMNS]
    rows = table_rows(report)
    if markdown:
        lines = ["| label | " + " | ".join(heads) + " |", "|---" + "|---:" * len(heads) + "|"]
        return "\n".join(lines + [f"| {n} | " + " | ".join(map(str, v)) + " |" for n, v in rows])
    widths = [max(len(h), 5) for h in heads]
    lines = [f"{'label':<9}" + "".join(f"{h:>{w + 1}}" for h, w in zip(heads, widths))]
    return "\n".join(lines + [f"{n:<9}" + "".join(f"{x:>{w + 1}}" for x, w in zip(v, widths)) for n, v in rows])


def format_patterns(report: dict) -> str:
    """The gold-side sub-counts (patterns, wrong-label confusions) that the table leaves out, one line per label."""
    lines = []
    for name, counts in [*report["labels"].items(), ("total", report["total"])]:
        g = counts["gold"]
        pats = ", ".join(f"{k} {v}" for k, v in g["patterns"].items())
        conf = ", ".join(f"{k} {v}" for k, v in g["wrong_label_as"].items() if v) or "-"
        merged = counts["pred"]["boundary_kinds"]["merged"]
        lines.append(f"{name:<9}{pats}; wrong label as: {conf}; merged predictions {merged}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", "⏎")


def format_examples(report: dict) -> str:
    """The worst examples per category, gold and prediction marked in the same context window."""
    lines = []
    for cat, exs in report["examples"].items():
        lines.append(f"== {cat} ({len(exs)} shown)")
        for ex in exs:
            lines.append(f"  {ex['record']} {ex['label']} at {ex['context']['start']} (severity {ex['severity']})")
            lines.append(f"    gold: {_one_line(ex['context']['gold'])}")
            lines.append(f"    pred: {_one_line(ex['context']['pred'])}")
    return "\n".join(lines)
