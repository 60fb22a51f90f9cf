"""How batch prediction on Ray Data scales with actors on this machine, beside the in-process path.

  python benchmarks/ray_scaling.py [--split dev] [--workers 1 2] [--quantize] [--model DIR]

Each run predicts the same articles; the figure is characters/s over the whole run (Ray start-up and
actor model loading included, as a user pays them), and the outputs are checked to be identical to
the in-process path's (run in the same batches of 16 articles).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.inference import Extractor  # noqa: E402
from zhie.training.data_specs import load_source  # noqa: E402

BATCH = 16


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quantize", action="store_true")
    ap.add_argument("--model", type=Path, default=None)
    a = ap.parse_args()
    import ray
    import torch

    from zhie.inference.ray_engine import predict_with_ray

    docs = [d.model_copy(update={"entities": [], "relations": []}) for d in load_source(f"news:{a.split}")]
    chars = sum(len(d.text) for d in docs)
    options = {"path": a.model, "quantize": a.quantize}
    print(f"{a.split}: {len(docs)} articles, {chars} characters; quantize={a.quantize}")
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    ex = Extractor.load(**options)
    # the Ray engine's batches: dynamic int8 scales activations per batch, so batch composition matters
    local = [d for i in range(0, len(docs), BATCH) for d in ex.predict_documents(docs[i:i + BATCH])]
    t_local = time.perf_counter() - t0
    print(f"in-process, 2 threads: {t_local:.1f} s, {chars / t_local:,.0f} chars/s")
    want = [d.model_dump_json(exclude_none=True) for d in local]
    for n in a.workers:
        t0 = time.perf_counter()
        got = [d.model_dump_json(exclude_none=True)
               for d in predict_with_ray(docs, load_options=options, workers=n, batch_size=BATCH)]
        secs = time.perf_counter() - t0
        ray.shutdown()
        same = sum(g == w for g, w in zip(got, want))
        print(f"ray, {n} actor(s) x 1 thread: {secs:.1f} s, {chars / secs:,.0f} chars/s "
              f"({t_local / secs:.2f}x in-process); identical records {same}/{len(want)}")


if __name__ == "__main__":
    main()
