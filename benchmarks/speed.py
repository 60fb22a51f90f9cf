"""CPU speed of the predict API, fp32 and dynamic int8, and how far int8 agrees with fp32.

  python benchmarks/speed.py [--input RECORDS.jsonl] [--model DIR] [--threads N]

Without --input it uses examples/articles.jsonl + examples/article.txt repeated to ~40k characters.
Prints characters/s and articles/s for each mode and the entity F1 of int8 against fp32.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.annotation.records import Document  # noqa: E402
from zhie.inference import Extractor  # noqa: E402
from zhie.training.metrics import evaluate_documents  # noqa: E402


def load_texts(path: Path | None) -> list[str]:
    if path is not None:
        return [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]
    base = [json.loads(line)["text"] for line in open(REPO / "examples" / "articles.jsonl", encoding="utf-8")]
    base.append((REPO / "examples" / "article.txt").read_text(encoding="utf-8"))
    texts: list[str] = []
    while sum(map(len, texts)) < 40_000:
        texts.extend(base)
    return texts


def timed(ex: Extractor, texts: list[str]) -> tuple[float, list[Document]]:
    ex.predict_batch(texts[:4])  # warm-up
    t0 = time.perf_counter()
    out = ex.predict_batch(texts)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", type=Path)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    texts = load_texts(a.input)
    chars = sum(map(len, texts))
    print(f"{len(texts)} articles, {chars} characters, {a.threads} threads, torch {torch.__version__}")
    results = {}
    for mode, quantize in (("fp32", False), ("int8", True)):
        ex = Extractor.load(a.model, quantize=quantize)
        secs, out = timed(ex, texts)
        results[mode] = out
        print(f"{mode}: {secs:.1f} s  {chars / secs:,.0f} chars/s  {len(texts) / secs:.1f} articles/s")
    ids = [f"t{i}" for i in range(len(texts))]
    ref = [r.model_copy(update={"id": i}) for r, i in zip(results["fp32"], ids)]
    got = [r.model_copy(update={"id": i}) for r, i in zip(results["int8"], ids)]
    f1 = evaluate_documents(ref, got)["entities"]["micro avg"]["f1-score"]
    print(f"int8 agreement with fp32 (entity micro F1): {f1:.4f}")


if __name__ == "__main__":
    main()
