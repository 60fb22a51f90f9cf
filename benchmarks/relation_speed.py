"""What the relation stage adds to NER time, on the same articles and threads (target: at most 30 %).

  python benchmarks/relation_speed.py [--split dev] [--threads 2] [--re-model DIR] [--repeats 3]

NER runs over the texts; the relation model then reads the NER's entities (as in `zhie predict`).
Both are timed fp32 and with dynamic int8; each time is the best of --repeats runs after a warm-up.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.inference import Extractor  # noqa: E402
from zhie.inference.relations import RelationTagger  # noqa: E402
from zhie.models.relation import candidate_pairs  # noqa: E402
from zhie.training.data_specs import load_source  # noqa: E402


def best_time(fn, repeats: int) -> tuple[float, object]:
    fn(slice(0, 4))  # warm-up
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(slice(None))
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--re-model", type=Path, default=REPO / "models" / "weights" / "re")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    docs = [d.model_copy(update={"entities": [], "relations": []}) for d in load_source(f"news:{a.split}")]
    chars = sum(len(d.text) for d in docs)
    print(f"{a.split}: {len(docs)} articles, {chars} characters, {a.threads} threads, torch {torch.__version__}")
    for mode, quantize in (("fp32", False), ("int8", True)):
        ner = Extractor.load(quantize=quantize, relations=False, values=False)
        rel = RelationTagger.load(a.re_model, quantize=quantize)
        t_ner, found = best_time(lambda s: ner.predict_documents(docs[s]), a.repeats)
        pairs = sum(len(candidate_pairs(d)) for d in found)
        t_rel, _ = best_time(lambda s: rel.predict(found[s]), a.repeats)
        print(f"{mode}: NER {t_ner:.2f} s ({chars / t_ner:,.0f} chars/s); relations {t_rel:.2f} s for {pairs} "
              f"candidate pairs = {100 * t_rel / t_ner:.0f} % of NER time")


if __name__ == "__main__":
    main()
