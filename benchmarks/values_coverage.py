"""Share of MONEY, DATE and LOC entities that get a normalised value, on gold records.

  .venv/bin/zhie dataset news:dev -o runs/dev.jsonl
  .venv/bin/python benchmarks/values_coverage.py runs/dev.jsonl [--pub-date 2024-11-10] [--misses]

Each record's own `pub_date` is used where it has one; --pub-date supplies one for records without,
to show how many relative dates (今年, 11月8日) resolve once the publication date is known.
--misses lists the unresolved spans, to see what the parsers do not cover.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.annotation.jsonl import ReadReport, read_documents  # noqa: E402
from zhie.annotation.records import Document  # noqa: E402
from zhie.inference.values import normalise_values  # noqa: E402

LABELS = ("MONEY", "DATE", "LOC")


def coverage(docs: list[Document], pub_date: str | None = None) -> tuple[Counter, Counter, Counter]:
    """(entities, resolved, unresolved span texts) per label over `docs`, values filled by the normaliser."""
    total: Counter = Counter()
    resolved: Counter = Counter()
    misses: Counter = Counter()
    for doc in docs:
        own = (doc.model_extra or {}).get("pub_date")
        for e in normalise_values(doc, own or pub_date).entities:
            if e.label in LABELS:
                total[e.label] += 1
                if e.value is not None:
                    resolved[e.label] += 1
                else:
                    misses[(e.label, e.text)] += 1
    return total, resolved, misses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("records", type=Path, help="canonical JSONL with gold entities")
    ap.add_argument("--pub-date", help="YYYY-MM-DD for records without their own pub_date")
    ap.add_argument("--misses", action="store_true", help="list the unresolved spans")
    args = ap.parse_args()
    report = ReadReport(str(args.records))
    docs = list(read_documents(args.records, report))
    print(report.summary(), file=sys.stderr)
    t0 = time.perf_counter()
    total, resolved, misses = coverage(docs, args.pub_date)
    seconds = time.perf_counter() - t0
    for label in LABELS:
        n, k = total[label], resolved[label]
        print(f"{label:6} {k:4d}/{n:<4d} resolved  {k / n if n else 0:6.1%}")
    n, k = sum(total.values()), sum(resolved.values())
    print(f"{'all':6} {k:4d}/{n:<4d} resolved  {k / n if n else 0:6.1%}   ({len(docs)} records, {seconds:.1f} s)")
    if args.misses:
        for (label, text), count in sorted(misses.items()):
            print(f"  miss {label:5} {text}" + (f"  x{count}" if count > 1 else ""))


if __name__ == "__main__":
    main()
