"""`zhie predict`, `zhie evaluate`, `zhie validate`."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from itertools import islice
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from zhie.annotation.articles import read_articles
from zhie.annotation.jsonl import ReadReport, read_documents
from zhie.annotation.records import Article, Document
from zhie.formats import OutputFormat, RecordWriter


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class BackendName(str, Enum):
    torch = "torch"
    onnx = "onnx"


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def _finish(report: ReadReport, report_file: Path | None) -> None:
    """Print the summary and every rejection; exit 1 only when nothing valid was read."""
    for r in report.rejected:
        _err(f"rejected: {r}")
    _err(report.summary())
    if report_file:
        report_file.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    if report.kept == 0:
        raise typer.Exit(1)


def predict(
    input: Annotated[str, typer.Argument(help="A .txt article, a folder of .txt files, a .jsonl of {id,text[,pub_date]}, or - for stdin.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="jsonl records, a readable table, or csv (one row per project).")] = OutputFormat.jsonl,
    model: Annotated[Optional[Path], typer.Option(help="A NER model folder; default: the bundled model.")] = None,
    relation_model: Annotated[Optional[Path], typer.Option(help="A marker relation model folder (`zhie train re`) instead of the relation head saved beside the NER model's weights (the default).")] = None,
    no_relations: Annotated[bool, typer.Option("--no-relations", help="Entities only (skip the relation stage).")] = False,
    backend: Annotated[BackendName, typer.Option(help="torch, or onnx (needs model.onnx: `zhie export-onnx`).")] = BackendName.torch,
    batch_size: Annotated[int, typer.Option(help="Articles per batch.")] = 32,
    quantize: Annotated[Optional[bool], typer.Option("--quantize/--no-quantize", help="Dynamic int8 (default wherever torch supports the CPU: 2-2.8x fp32's speed, the same dev F1); --no-quantize for fp32.", show_default=False)] = None,
    report: Annotated[Optional[Path], typer.Option(help="Write the read report (rejected records) as JSON.")] = None,
    engine: Annotated[Engine, typer.Option(help="local (this process) or ray (Ray Data actors; pip install 'zh-invest-ie[ray]').")] = Engine.local,
    ray_address: Annotated[Optional[str], typer.Option(help="An existing Ray cluster (default: start Ray locally).")] = None,
    workers: Annotated[int, typer.Option(help="Ray actors, one model and one CPU thread each.")] = 2,
) -> None:
    """Extract entities, relations and projects from articles."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from zhie.inference import Extractor

    options = {"path": model, "quantize": quantize, "backend": backend.value,
               "relations": False if no_relations else relation_model}
    try:
        ex = Extractor.load(**options)  # also checks the models before any Ray actor starts
    except (FileNotFoundError, ValueError) as exc:  # ModelNotFoundError is one; also a missing model.onnx
        _err(f"error: {exc}")
        raise typer.Exit(2)
    except ImportError as exc:  # --backend onnx without the extra
        _err(f"error: {exc.name} is not installed (pip install 'zh-invest-ie[onnx]')")
        raise typer.Exit(2)
    rep = ReadReport(input)
    try:
        docs = _documents(read_articles(input, rep))
        if engine == Engine.ray:
            from zhie.inference.ray_engine import predict_with_ray

            del ex
            predicted = predict_with_ray(docs, load_options=options, workers=workers, address=ray_address,
                                         batch_size=batch_size)
        else:
            predicted = _predict_local(ex, docs, batch_size)
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        writer = RecordWriter(out, format)
        try:
            for done, doc in enumerate(predicted, 1):
                writer.write(doc)
                if done % 100 == 0:
                    out.flush()
                    _err(f"[predict] {done} articles")
        finally:
            if output:
                out.close()
    except (FileNotFoundError, ImportError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    _finish(rep, report)


def _documents(articles: Iterable[Article]) -> Iterator[Document]:
    """Articles as documents to predict; their extra fields (source, url, ...) travel into the records."""
    given = ("entities", "relations", "projects")  # predicted afresh, never taken from the input
    for art in articles:
        yield Document(**{k: v for k, v in art.model_dump(exclude_none=True).items() if k not in given})


def _predict_local(ex, docs: Iterable[Document], batch_size: int) -> Iterator[Document]:
    """In-process prediction, `batch_size` articles at a time."""
    it = iter(docs)
    while batch := list(islice(it, batch_size)):
        yield from ex.predict_documents(batch)


def evaluate(
    gold: Annotated[Path, typer.Argument(help="Gold records (canonical JSONL).")],
    pred: Annotated[Path, typer.Argument(help="Predicted records (canonical JSONL, e.g. from zhie predict).")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Also write the report as JSON.")] = None,
) -> None:
    """Score predictions against gold: strict entity spans (seqeval IOB2) and relations, per label."""
    from zhie.training.metrics import evaluate_documents, format_report

    reports = [ReadReport(str(gold)), ReadReport(str(pred))]
    g = list(read_documents(gold, reports[0]))
    p = list(read_documents(pred, reports[1]))
    for r in reports:
        for rej in r.rejected:
            _err(f"rejected: {r.source} {rej}")
        _err(r.summary())
    if not g:
        raise typer.Exit(1)
    try:
        rep = evaluate_documents(g, p)
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    typer.echo(format_report(rep))
    if output:
        output.write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")


def validate(
    input: Annotated[Path, typer.Argument(help="Canonical JSONL records to check.")],
    report: Annotated[Optional[Path], typer.Option(help="Write the read report as JSON.")] = None,
) -> None:
    """Check records against the guide's rules (offsets, overlaps, ids, relation types)."""
    rep = ReadReport(str(input))
    for _ in read_documents(input, rep):
        pass
    _finish(rep, report)
