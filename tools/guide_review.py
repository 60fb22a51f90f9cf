"""Re-apply a revised annotation guide to the stand-off dataset: list candidates, then apply reviewed edits.

  python tools/guide_review.py candidates [--rule RULE]          # print candidates with context (terminal only)
  python tools/guide_review.py apply EDITS.jsonl -o CANON.jsonl   # reviewed edits -> canonical records
  python tools/build_dataset.py CANON.jsonl                        # -> data/annotations/news.jsonl, STATS.md

The candidate rules only find places to look: every candidate is read in context and decided by a
person, because the guide has exceptions no pattern sees (route names, villages, a company acting).
The decisions go into EDITS.jsonl (ids, offsets and labels, no passage text), which `apply` replays on
the joined records. CANON.jsonl holds the texts, so write it outside the repository.

Edit lines ({"doc": ID, "op": OP, ...}; a "note" field is free text for the reviewer):
  split     entity, parts [[start, end, label], ...]  one span -> several; the part with the old label keeps
            the old id (and its relations); with "link": true each new LOC gets project_location from the PROJECT
  relabel   entity, label            relations that no longer fit the types are dropped and reported
  reshape   entity, start, end       new offsets, same label and id
  add       start, end, label        a new entity (next free id)
  remove    entity                   the entity and its relations
  merge     entities, label          several adjacent spans -> one (first id kept, relations redirected)
  add_rel / drop_rel  head, tail, label  (head/tail: entity ids, or [start, end] of an entity added above)
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zhie.annotation.labels import RELATION_TYPES  # noqa: E402
from zhie.annotation.records import Document  # noqa: E402
from zhie.annotation.standoff import load_standoff  # noqa: E402
from tools.worksheet import DEFAULT_RAW  # noqa: E402

ANN = Path(__file__).resolve().parents[1] / "data" / "annotations" / "news.jsonl"
SUFFIX_CHAR = re.compile("[省市区县州旗镇乡區縣鎮鄉]")
SENT_END = re.compile(r"[。！？!?\n]")
CLOSERS = "”’」』）)"
NAMED_BODY = re.compile(r"(医院|研究院|研究所|中心|学校|学院|大学|实验室|院)$")
CENTRAL = re.compile(r"中央政府|中央|国务院|党中央|工信部|商务部|财政部|国家发改委|国家发展改革委|国资委")
COMPANY_END = re.compile(r"(集团|公司|股份|控股|科技|实业|有限|企业|汽车|能源|电子|新材料|生物|医药|电气|化工|光电|智能)$")
TYPE_NOUN = re.compile(r"^[\u4e00-\u9fff]{2,10}(楼|基地|中心|园|厂|项目|工程)$")


# ---------------------------------------------------------------- candidate rules

def context(doc: Document, start: int, end: int, width: int = 30) -> str:
    return (doc.text[max(0, start - width):start] + "【" + doc.text[start:end] + "】"
            + doc.text[end:end + width]).replace("\n", "⏎")


def sentence_index(text: str) -> list[int]:
    """Sentence number of every character: a sentence ends after 。！？!? or a line break; closing
    quotes, further terminators and blank lines after the end belong to the sentence that ended."""
    out, n, ended = [], 0, False
    for ch in text:
        if ended and not (SENT_END.match(ch) or ch.isspace() or ch in CLOSERS):
            n, ended = n + 1, False
        out.append(n)
        ended = ended or bool(SENT_END.match(ch))
    return out


def dot_joined(doc: Document) -> Iterator[tuple[str, str]]:
    """A LOC followed by · and another LOC or a PROJECT: one LOC, or all inside the PROJECT."""
    ents = doc.sorted_entities()
    for a, b in zip(ents, ents[1:]):
        if a.label == "LOC" and b.label in ("LOC", "PROJECT") and doc.text[a.end:b.start] in ("·", "•", "・"):
            yield f"{a.id}+{b.id} {a.label}·{b.label}", context(doc, a.start, b.end)


def named_body_as_org(doc: Document) -> Iterator[tuple[str, str]]:
    """ORG named like a hospital/institute/centre/school: PROJECT where it is signed, built or opened."""
    for e in doc.entities:
        if e.label == "ORG" and NAMED_BODY.search(e.text):
            yield f"{e.id} ORG", context(doc, e.start, e.end, 40)


def central_bodies(doc: Document) -> Iterator[tuple[str, str]]:
    """Central bodies with no place that no entity covers: ORG now."""
    covered = [(e.start, e.end) for e in doc.entities]
    for m in CENTRAL.finditer(doc.text):
        if not any(s <= m.start() < e for s, e in covered):
            yield f"unannotated {m.group()}", context(doc, m.start(), m.end())


def type_nouns(doc: Document) -> Iterator[tuple[str, str]]:
    """Short PROJECT spans made of a type noun alone (商务综合楼): not PROJECT."""
    for e in doc.entities:
        if e.label == "PROJECT" and TYPE_NOUN.match(e.text) and len(e.text) <= 8:
            yield f"{e.id} PROJECT", context(doc, e.start, e.end)


def company_project(doc: Document) -> Iterator[tuple[str, str]]:
    """PROJECT = company name + 项目 (the company used for its project): ORG with 项目 outside.

    Short names ending in 项目 are listed too, since company short names are rarely ORG elsewhere.
    """
    orgs = {e.text for e in doc.entities if e.label == "ORG"}
    for e in doc.entities:
        if e.label == "PROJECT" and e.text.endswith(("项目", "項目")):
            stem = e.text[:-2].strip("“”\"")
            if len(e.text) <= 8 or stem in orgs or COMPANY_END.search(stem):
                yield f"{e.id} PROJECT", context(doc, e.start, e.end)


def suffixed_place_inside(doc: Document, places: set[str]) -> Iterator[tuple[str, str]]:
    """A PROJECT with a place suffix character before its last character (a place at its start,
    or after a company prefix), naming the longest known suffixed place it contains."""
    for e in doc.entities:
        if e.label != "PROJECT" or not SUFFIX_CHAR.search(e.text[:-1]):
            continue
        hits = sorted((p for p in places if p in e.text and p != e.text), key=len, reverse=True)
        yield f"{e.id} PROJECT known place {hits[0] if hits else '-'}", context(doc, e.start, e.end)


def far_relations(doc: Document) -> Iterator[tuple[str, str]]:
    """Relations whose ends are more than one sentence apart."""
    sent = sentence_index(doc.text)
    by_id = {e.id: e for e in doc.entities}
    for r in doc.relations:
        h, t = by_id[r.head], by_id[r.tail]
        gap = abs(sent[h.start] - sent[t.start])
        if gap > 1:
            same = [e.id for e in doc.entities if e.label == "PROJECT" and e.text == h.text
                    and abs(sent[e.start] - sent[t.start]) <= 1]
            yield (f"{r.head}->{r.tail} {r.label} gap {gap} sentences; nearer mention of the project: {same or '-'}",
                   context(doc, h.start, h.end, 15) + "  …  " + context(doc, t.start, t.end, 15))


def known_places(docs: list[Document]) -> set[str]:
    """Every LOC string of the dataset that ends in a split suffix (新区/高新区/经开区 end in 区)."""
    return {e.text for d in docs for e in d.entities if e.label == "LOC" and SUFFIX_CHAR.match(e.text[-1]) and len(e.text) >= 2}


def candidates(docs: list[Document], only: str | None) -> None:
    places = known_places(docs)
    rules = {"dot": dot_joined, "named_body": named_body_as_org, "central": central_bodies,
             "type_noun": type_nouns, "company_project": company_project,
             "suffix_place": lambda d: suffixed_place_inside(d, places), "far_relation": far_relations}
    for name, rule in rules.items():
        if only and name != only:
            continue
        found = [(d.id, what, ctx) for d in docs for what, ctx in rule(d)]
        print(f"## {name}: {len(found)} candidates")
        for did, what, ctx in found:
            print(f"{did}\t{what}\t{ctx}")


# ---------------------------------------------------------------- applying reviewed edits

class Editor:
    """Mutable entities/relations of one document; validated as a Document when done."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.ents = {e.id: {"id": e.id, "start": e.start, "end": e.end, "label": e.label} for e in doc.entities}
        self.rels = [{"head": r.head, "tail": r.tail, "label": r.label} for r in doc.relations]
        self.notes: list[str] = []

    def new_id(self) -> str:
        n = max((int(i[1:]) for i in self.ents if i[1:].isdigit()), default=0) + 1
        return f"e{n}"

    def ref(self, x: str | list[int]) -> str:
        if isinstance(x, str):
            if x not in self.ents:
                raise ValueError(f"record {self.doc.id}: no entity {x}")
            return x
        for e in self.ents.values():
            if [e["start"], e["end"]] == list(x):
                return e["id"]
        raise ValueError(f"record {self.doc.id}: no entity at {x}")

    def add(self, start: int, end: int, label: str) -> str:
        eid = self.new_id()
        self.ents[eid] = {"id": eid, "start": start, "end": end, "label": label}
        return eid

    def drop_relations_of(self, eid: str) -> None:
        for r in [r for r in self.rels if eid in (r["head"], r["tail"])]:
            self.rels.remove(r)
            self.notes.append(f"dropped {r['head']}->{r['tail']} {r['label']}")

    def apply(self, ed: dict) -> None:
        op = ed["op"]
        if op == "split":
            old = self.ents.pop(self.ref(ed["entity"]))
            keep = next(i for i, p in enumerate(ed["parts"]) if p[2] == old["label"])
            ids = []
            for i, (s, e, lab) in enumerate(ed["parts"]):
                if i == keep:
                    self.ents[old["id"]] = {**old, "start": s, "end": e}
                    ids.append(old["id"])
                else:
                    ids.append(self.add(s, e, lab))
            if ed.get("link"):
                proj = next(i for i, p in zip(ids, ed["parts"]) if p[2] == "PROJECT")
                for i, p in zip(ids, ed["parts"]):
                    if p[2] == "LOC":
                        self.rels.append({"head": proj, "tail": i, "label": "project_location"})
        elif op == "relabel":
            eid = self.ref(ed["entity"])
            self.ents[eid]["label"] = ed["label"]
            for r in [r for r in self.rels if eid in (r["head"], r["tail"])]:
                if RELATION_TYPES[r["label"]] != (self.ents[r["head"]]["label"], self.ents[r["tail"]]["label"]):
                    self.rels.remove(r)
                    self.notes.append(f"dropped {r['head']}->{r['tail']} {r['label']} (types)")
        elif op == "reshape":
            self.ents[self.ref(ed["entity"])].update(start=ed["start"], end=ed["end"])
        elif op == "add":
            self.add(ed["start"], ed["end"], ed["label"])
        elif op == "remove":
            eid = self.ref(ed["entity"])
            self.ents.pop(eid)
            self.drop_relations_of(eid)
        elif op == "merge":
            ids = [self.ref(x) for x in ed["entities"]]
            spans = [self.ents.pop(i) for i in ids]
            self.ents[ids[0]] = {"id": ids[0], "start": min(s["start"] for s in spans),
                                 "end": max(s["end"] for s in spans), "label": ed["label"]}
            for r in self.rels:
                r["head"] = ids[0] if r["head"] in ids else r["head"]
                r["tail"] = ids[0] if r["tail"] in ids else r["tail"]
            self.rels = [dict(t) for t in dict.fromkeys(tuple(r.items()) for r in self.rels)]
        elif op == "add_rel":
            self.rels.append({"head": self.ref(ed["head"]), "tail": self.ref(ed["tail"]), "label": ed["label"]})
        elif op == "drop_rel":
            r = {"head": self.ref(ed["head"]), "tail": self.ref(ed["tail"]), "label": ed["label"]}
            if r not in self.rels:
                raise ValueError(f"record {self.doc.id}: no relation {r}")
            self.rels.remove(r)
        else:
            raise ValueError(f"record {self.doc.id}: unknown op {op!r}")

    def result(self) -> Document:
        ents = [{**e, "text": self.doc.text[e["start"]:e["end"]]} for e in self.ents.values()]
        extra = dict(self.doc.model_extra or {})
        return Document(id=self.doc.id, text=self.doc.text, entities=ents, relations=self.rels, **extra)


def apply_edits(docs: list[Document], edits: list[dict]) -> tuple[list[Document], dict[str, int]]:
    by_doc: dict[str, list[dict]] = {}
    for n, ed in enumerate(edits, 1):
        by_doc.setdefault(ed.get("doc", f"?line {n}"), []).append(ed)
    known = {d.id for d in docs}
    if unknown := sorted(set(by_doc) - known):
        raise ValueError(f"edits name records not in the dataset: {unknown}")
    out, counts = [], {}
    for d in docs:
        ed = Editor(d)
        for e in by_doc.get(d.id, []):
            ed.apply(e)
            counts[e.get("rule", "?")] = counts.get(e.get("rule", "?"), 0) + 1
        for note in ed.notes:
            print(f"{d.id}: {note}", file=sys.stderr)
        out.append(ed.result())
    return out, counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["candidates", "apply"])
    ap.add_argument("edits", nargs="?")
    ap.add_argument("--rule")
    ap.add_argument("-o", "--out")
    ap.add_argument("--raw", default=str(DEFAULT_RAW))
    ap.add_argument("--ann", default=str(ANN), help="stand-off annotations (default: the dataset)")
    args = ap.parse_args()
    docs = list(load_standoff(Path(args.ann), Path(args.raw)))
    if args.cmd == "candidates":
        candidates(docs, args.rule)
        return 0
    if not (args.edits and args.out):
        ap.error("apply needs EDITS.jsonl and -o CANON.jsonl")
    edits = [json.loads(line) for line in open(args.edits, encoding="utf-8") if line.strip()]
    new, counts = apply_edits(docs, edits)
    with open(args.out, "w", encoding="utf-8") as fh:
        for d in new:
            fh.write(json.dumps(d.model_dump(exclude_none=True), ensure_ascii=False) + "\n")
    print(f"{len(edits)} edits applied to {len(new)} records -> {args.out}; per rule: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
