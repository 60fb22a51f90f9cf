"""`zhie predict`, `zhie evaluate`, `zhie validate`."""
from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from zhie.annotation.articles import read_articles
from zhie.annotation.jsonl import ReadReport, read_documents
from zhie.formats import OutputFormat, RecordWriter


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
    relation_model: Annotated[Optional[Path], typer.Option(help="A relation model folder; default: the bundled one.")] = None,
    no_relations: Annotated[bool, typer.Option("--no-relations", help="Entities only (skip the relation stage).")] = False,
    backend: Annotated[BackendName, typer.Option(help="torch, or onnx (needs model.onnx: `zhie export-onnx`).")] = BackendName.torch,
    batch_size: Annotated[int, typer.Option(help="Articles per batch.")] = 32,
    quantize: Annotated[bool, typer.Option(help="Dynamic int8 on CPU (faster).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the read report (rejected records) as JSON.")] = None,
) -> None:
    """Extract entities and relations from articles."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from zhie.inference import Extractor, ModelNotFoundError

    try:
        ex = Extractor.load(model, quantize=quantize, backend=backend.value,
                            relations=False if no_relations else relation_model)
    except (ModelNotFoundError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    rep = ReadReport(input)
    try:
        articles = read_articles(input, rep)
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        writer = RecordWriter(out, format)
        done, batch = 0, []
        try:
            for art in articles:
                batch.append(art)
                if len(batch) == batch_size:
                    done += _write_batch(ex, batch, writer)
                    batch = []
                    _err(f"[predict] {done} articles")
            if batch:
                done += _write_batch(ex, batch, writer)
        finally:
            if output:
                out.close()
    except FileNotFoundError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    _finish(rep, report)


def _write_batch(ex, batch, writer: RecordWriter) -> int:
    """Predict a batch of articles; their extra input fields (source, url, ...) travel into the records."""
    from zhie.annotation.records import Document

    given = ("entities", "relations", "projects")  # predicted afresh, never taken from the input
    docs = [Document(**{k: v for k, v in art.model_dump(exclude_none=True).items() if k not in given})
            for art in batch]
    for doc in ex.predict_documents(docs):
        writer.write(doc)
    writer.out.flush()
    return len(batch)


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
