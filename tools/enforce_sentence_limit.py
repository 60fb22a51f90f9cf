"""Drop relations that reach past the neighbouring sentence (the guide's limit), listing each one.

  python tools/enforce_sentence_limit.py IN.jsonl OUT.jsonl

Annotators sometimes link an amount stated two sentences after the project's name (via 该项目); the
guide allows one sentence or neighbouring sentences only, and the relation model never sees such
pairs. Sentences are those of zhie.models.relation.split_sentences, the one definition used everywhere.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zhie.annotation.jsonl import read_documents, write_jsonl  # noqa: E402
from zhie.models.relation import candidate_pairs  # noqa: E402


def main(src: str, dst: str) -> None:
    out, dropped, total = [], 0, 0
    for doc in read_documents(src):
        allowed = {(c.head.id, c.tail.id) for c in candidate_pairs(doc)}
        text_of = {e.id: e.text for e in doc.entities}
        keep = []
        for r in doc.relations:
            total += 1
            if (r.head, r.tail) in allowed:
                keep.append(r)
            else:
                dropped += 1
                print(f"{doc.id}: dropped {r.label} {text_of[r.head]} -> {text_of[r.tail]}", file=sys.stderr)
        out.append(doc.model_copy(update={"relations": keep}))
    write_jsonl(out, dst)
    print(f"{len(out)} records, {dropped} of {total} relations dropped", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:3])
