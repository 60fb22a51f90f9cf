"""Inter-annotator agreement: entity and relation F1 between a first and an independent second pass.

  python tools/agreement.py FIRST_PASS.jsonl... --second data/annotations/work/second_pass.jsonl

F1 with one pass as reference is symmetric (precision and recall swap), so the figure does not
depend on which pass is called gold. Also lists every disagreement for adjudication.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zhie.annotation.standoff import load_raw_texts  # noqa: E402
from tools.worksheet import DEFAULT_RAW, load_worksheets  # noqa: E402
from zhie.training.metrics import evaluate_documents, format_report  # noqa: E402


def diffs(a, b) -> list[str]:
    ka = {(e.start, e.end, e.label): e.text for e in a.entities}
    kb = {(e.start, e.end, e.label): e.text for e in b.entities}
    out = [f"  first only : {lab} {t!r} @{s}" for (s, e, lab), t in sorted(ka.items()) if (s, e, lab) not in kb]
    out += [f"  second only: {lab} {t!r} @{s}" for (s, e, lab), t in sorted(kb.items()) if (s, e, lab) not in ka]
    return out


def anchoring(first, second, sugg, ids) -> str:
    """Did suggestions make the first pass accept model errors? Taking the blind second pass as the
    reference: how many suggested spans it rejects that the first pass kept, and how often first-pass
    spans taken from suggestions are disputed compared with spans the annotators wrote themselves."""
    def keys(d):
        return {(e.start, e.end, e.label) for e in d.entities}

    kept = disputed_kept = own = disputed_own = wrong_sugg = wrong_kept = 0
    for i in ids:
        f, b, s = keys(first[i]), keys(second[i]), keys(sugg[i]) if i in sugg else set()
        kept += len(f & s)
        disputed_kept += len((f & s) - b)
        own += len(f - s)
        disputed_own += len((f - s) - b)
        wrong_sugg += len(s - b)
        wrong_kept += len((s - b) & f)
    return (f"suggested spans the blind pass rejects: {wrong_sugg}, of which the first pass kept {wrong_kept} "
            f"({wrong_kept / max(wrong_sugg, 1):.1%})\n"
            f"first-pass spans taken from suggestions: {kept}, disputed by the blind pass {disputed_kept} "
            f"({disputed_kept / max(kept, 1):.1%}); spans the annotators wrote: {own}, disputed {disputed_own} "
            f"({disputed_own / max(own, 1):.1%})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("first", nargs="+")
    ap.add_argument("--second", required=True)
    ap.add_argument("--diff", type=Path, help="write every entity disagreement here")
    ap.add_argument("--suggestions", nargs="*", default=[], help="the model suggestions the first pass corrected")
    a = ap.parse_args()
    raw = load_raw_texts(DEFAULT_RAW)
    first, second = load_worksheets(a.first, raw), load_worksheets([a.second], raw)
    ids = sorted(set(first) & set(second))
    rep = evaluate_documents([first[i] for i in ids], [second[i] for i in ids])
    print(f"{len(ids)} documents in both passes\n" + format_report(rep))
    if a.suggestions:
        print(anchoring(first, second, load_worksheets(a.suggestions, raw), ids))
    if a.diff:
        with open(a.diff, "w", encoding="utf-8") as fh:
            for i in ids:
                d = diffs(first[i], second[i])
                if d:
                    fh.write(f"{i}\n" + "\n".join(d) + "\n")


if __name__ == "__main__":
    main()
