"""Characters/s of the whole pipeline on articles it has not seen, as one new `zhie predict` process runs them.

  python benchmarks/cold_start_speed.py [--split dev | --input FILE] [--model DIR] [--quantize] [--threads 2] [--shard K/N]

The value parsers cache what they read (amounts, dates, places repeat across news), so timing the same
texts twice in one process, or our few example articles repeated (`zhie bench` without --input), flatters
the values stage. Here one process loads the model and the parsers' tables, then times one pass over the
articles with every cache empty. Prints one JSON line. Start it once per variant (and, to compare code
versions, alternate them); `--shard K/N` times every N-th article from the K-th, for N processes side by side.
It uses only what older versions of the code also have, so a checkout of an earlier commit runs it too.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--split", default="dev", help="a split of our annotated news (needs ../shared)")
    src.add_argument("--input", type=Path, help="canonical JSONL records instead")
    ap.add_argument("--model", type=Path, default=None, help="NER model folder; default: the bundled one")
    ap.add_argument("--quantize", action="store_true", help="dynamic int8, as `zhie predict` runs by default (without it: fp32, `--no-quantize`)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shard", default="0/1", help="K/N: time articles K, K+N, K+2N, ...")
    ap.add_argument("--batch-size", type=int, default=32, help="articles per call, as `zhie predict` batches them")
    a = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
    import torch

    from zhie.annotation.jsonl import read_documents
    from zhie.annotation.records import Document
    from zhie.inference import Extractor
    from zhie.training.data_specs import load_source

    torch.set_num_threads(a.threads)
    k, n = (int(x) for x in a.shard.split("/"))
    source = read_documents(a.input) if a.input else load_source(f"news:{a.split}")
    docs = [Document(id=d.id, text=d.text) for d in source][k::n]
    ex = Extractor.load(a.model, quantize=a.quantize)
    ex.values.warm_up()  # the parsers' tables, as a server loads them before its first request
    ex.predict_documents([Document(id="warm-up", text="甲公司与乙公司签约新能源项目。")])  # first calls allocate
    t0 = time.perf_counter()
    for i in range(0, len(docs), a.batch_size):
        ex.predict_documents(docs[i:i + a.batch_size])
    seconds = time.perf_counter() - t0
    chars = sum(len(d.text) for d in docs)
    print(json.dumps({"model": str(a.model or "bundled"), "int8": a.quantize, "threads": a.threads, "shard": a.shard,
                      "articles": len(docs), "chars": chars, "seconds": round(seconds, 2),
                      "chars_per_s": round(chars / seconds)}))


if __name__ == "__main__":
    main()
