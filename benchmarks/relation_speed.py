"""What the relation stage adds to NER time, on the same articles and threads (target: at most 30 %).

  python benchmarks/relation_speed.py [--split dev] [--threads 2] [--model DIR] [--re-model DIR] [--repeats 3]

Both pipelines are `Extractor`s on the same model folder: NER alone, and NER + relations (the shared
head beside the NER weights, or the marker model of --re-model). Printed: NER alone, the relation
stage alone on the NER's output, and the NER stage when it keeps its states for the head (that copy is
part of the relations' cost). Timed fp32 and with dynamic int8; each time is the best of --repeats runs
after a warm-up, the two pipelines interleaved so that a busy machine slows both alike.
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
from zhie.models.relation import candidate_pairs  # noqa: E402
from zhie.training.data_specs import load_source  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", type=Path, default=None, help="NER model folder; default: the bundled one")
    ap.add_argument("--re-model", type=Path, default=None, help="a marker relation model instead of the shared head")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    docs = [d.model_copy(update={"entities": [], "relations": []}) for d in load_source(f"news:{a.split}")]
    chars = sum(len(d.text) for d in docs)
    print(f"{a.split}: {len(docs)} articles, {chars} characters, {a.threads} threads, torch {torch.__version__}")
    for mode, quantize in (("fp32", False), ("int8", True)):
        ner = Extractor.load(a.model, quantize=quantize, relations=False, values=False)
        full = Extractor.load(a.model, quantize=quantize, relations=a.re_model, values=False)
        if full.relations is None:
            raise SystemExit("this model has no relation stage (no relation head beside it, no --re-model)")
        ner.predict_documents(docs[:4]), full.predict_documents(docs[:4])  # warm-up
        t_ner = t_kept = t_rel = float("inf")
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            ner.ner(docs)
            t1 = time.perf_counter()
            found = full.ner(docs)
            t2 = time.perf_counter()
            full.relations(found)
            t3 = time.perf_counter()
            t_ner, t_kept, t_rel = min(t_ner, t1 - t0), min(t_kept, t2 - t1), min(t_rel, t3 - t2)
        pairs = sum(len(candidate_pairs(d)) for d in found)
        extra = max(0.0, t_kept - t_ner) + t_rel
        print(f"{mode}: NER {t_ner:.2f} s ({chars / t_ner:,.0f} chars/s); {type(full.relations).__name__}: "
              f"{t_rel:.2f} s for {pairs} candidate pairs (+ NER keeping states {t_kept:.2f} s) = "
              f"{100 * extra / t_ner:.0f} % of NER time")

if __name__ == "__main__":
    main()
