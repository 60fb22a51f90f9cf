"""Is model B's F1 really below model A's? A paired bootstrap over articles of the difference.

  python benchmarks/paired_bootstrap.py GOLD.jsonl A.jsonl B.jsonl [--samples 2000] [--seed 13] [-o out.json]

Both prediction files score the same gold articles (`zhie predict` outputs). Each resample draws the
articles with replacement and recomputes both models' F1 on it, so an article both models find hard counts
for both: the spread of B − A says how much of a test-set difference the choice of articles alone can make.
Scores are strict exact-match micro F1 over entity spans (what `zhie evaluate` reports: its totals are
printed beside, as a check), per entity label, and over relations.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.annotation.jsonl import read_documents  # noqa: E402
from zhie.annotation.labels import ENTITY_LABELS  # noqa: E402
from zhie.annotation.records import Document  # noqa: E402
from zhie.training.metrics import evaluate_documents, relation_keys  # noqa: E402

Keys = Callable[[Document], set]


def _entities(label: str | None) -> Keys:
    return lambda d: {(e.start, e.end, e.label) for e in d.entities if label is None or e.label == label}


def counts(gold: list[Document], pred: dict[str, Document], keys: Keys) -> np.ndarray:
    """(articles, 3): true positives, false positives, false negatives per article."""
    rows = []
    for g in gold:
        gk, pk = keys(g), keys(pred[g.id])
        rows.append((len(gk & pk), len(pk - gk), len(gk - pk)))
    return np.array(rows, dtype=np.int64)


def f1(c: np.ndarray) -> np.ndarray:
    """Micro F1 from summed counts; works on (3,) or (samples, 3)."""
    tp, fp, fn = c[..., 0], c[..., 1], c[..., 2]
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", type=Path)
    ap.add_argument("a", type=Path, help="predictions of model A (the reference)")
    ap.add_argument("b", type=Path, help="predictions of model B")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    gold = list(read_documents(args.gold))
    preds = [{d.id: d for d in read_documents(p)} for p in (args.a, args.b)]
    for name, pred in zip("AB", preds):
        missing = [g.id for g in gold if g.id not in pred]
        if missing:
            sys.exit(f"{name}: {len(missing)} gold articles have no prediction, e.g. {missing[:3]}")
    rng = np.random.default_rng(args.seed)
    draws = rng.integers(0, len(gold), size=(args.samples, len(gold)))
    scores = {"entities": _entities(None), **{lab: _entities(lab) for lab in ENTITY_LABELS}, "relations": relation_keys}
    out: dict = {"articles": len(gold), "samples": args.samples, "seed": args.seed}
    print(f"{len(gold)} articles, {args.samples} resamples; F1 of A and B, B - A with its 95 % interval")
    for name, keys in scores.items():
        ca, cb = (counts(gold, p, keys) for p in preds)
        fa, fb = float(f1(ca.sum(0))), float(f1(cb.sum(0)))
        diff = f1(cb[draws].sum(1)) - f1(ca[draws].sum(1))
        lo, hi = np.percentile(diff, [2.5, 97.5])
        out[name] = {"a": round(fa, 4), "b": round(fb, 4), "b_minus_a": round(fb - fa, 4),
                     "ci95": [round(float(lo), 4), round(float(hi), 4)], "share_b_below_a": round(float((diff < 0).mean()), 3)}
        print(f"{name:<10} A {fa:.3f}  B {fb:.3f}  B-A {fb - fa:+.3f}  [{lo:+.3f}, {hi:+.3f}]  "
              f"B below A in {(diff < 0).mean():.0%} of resamples")
    for name, pred in zip("AB", preds):  # the same totals as `zhie evaluate`
        rep = evaluate_documents(gold, [pred[g.id] for g in gold])
        out[f"zhie_evaluate_{name}"] = {"entities": rep["entities"]["micro avg"]["f1-score"],
                                        "relations": rep["relations"]["micro avg"]["f1-score"]}
        print(f"zhie evaluate {name}: entities {out[f'zhie_evaluate_{name}']['entities']:.4f}, "
              f"relations {out[f'zhie_evaluate_{name}']['relations']:.4f}")
    if args.output:
        args.output.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
