"""Write a set of investment passages that no distillation run reads, to measure how many of a teacher's
entities a student reproduces without touching dev or test.

The passages are 新闻联播 items from `--first-day` on, one record per paragraph with at least two mentions of
investment cue words. Distillation reads that source in date order from 2022-09: the first 2026 item comes after
8.4 M (cleaned) characters of it, and `ner-fast`'s 16 M-character corpus took 7.4 M (to 2025-08-07). The text
stays where it is: the output belongs outside the repository (runs/ is ignored).

    python benchmarks/domain_agreement_set.py -o runs/eval/heldout-xwlb.jsonl
    zhie predict runs/eval/heldout-xwlb.jsonl --no-quantize --no-relations -o teacher.jsonl
    zhie predict runs/eval/heldout-xwlb.jsonl --model STUDENT --no-quantize --no-relations -o student.jsonl
    zhie evaluate teacher.jsonl student.jsonl    # entity recall = share of the teacher's entities reproduced

With `--first-day 20240601 --before-day 20250129` it writes passages that a 6 M-character run did read: how well
a student fits text it was trained on.
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from zhie.training.corpus_clean import clean_paragraph
from zhie.training.corpus_sources import read_xinwenlianbo
from zhie.training.paths import SHARED

CUES = re.compile(r"项目|签约|开工|投产|落户|总投资|亿元")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--first-day", default="20260101", help="first day (YYYYMMDD) of the items taken")
    ap.add_argument("--before-day", default="", help="stop at this day (YYYYMMDD); default: read to the end")
    ap.add_argument("--max-records", type=int, default=500)
    ap.add_argument("--min-chars", type=int, default=60)
    ap.add_argument("--max-chars", type=int, default=600, help="longer paragraphs are cut here")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    records = []
    for k, item in enumerate(read_xinwenlianbo(SHARED, args.first_day, args.before_day)):
        for j, para in enumerate(p for p in map(clean_paragraph, item) if p):
            if len(para) >= args.min_chars and len(CUES.findall(para)) >= 2:
                records.append({"id": f"xwlb-{k}-{j}", "text": para[:args.max_chars]})
    random.Random(args.seed).shuffle(records)
    records = records[:args.max_records]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    print(f"{len(records)} passages, {sum(len(r['text']) for r in records):,} characters -> {args.output}")


if __name__ == "__main__":
    main()
