"""`zhie predict`, `zhie evaluate`, `zhie validate`."""
from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from zhie.annotation.articles import read_articles
from zhie.annotation.jsonl import ReadReport, dump_line, read_documents


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    table = "table"


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


def _table(rec: dict) -> str:
    lines = [f"# {rec['id']}  ({len(rec['entities'])} entities, {len(rec['relations'])} relations)",
             f"{'label':<9}{'span':>11}  {'score':>5}  text"]
    for e in rec["entities"]:
        lines.append(f"{e['label']:<9}{e['start']:>5}-{e['end']:<5}  {e['score']:.2f}  {e['text']}")
    by_id = {e["id"]: e["text"] for e in rec["entities"]}
    for r in rec["relations"]:
        lines.append(f"{r['label']}: {by_id[r['head']]} -> {by_id[r['tail']]}  ({r['score']:.2f})")
    return "\n".join(lines) + "\n"


def predict(
    input: Annotated[str, typer.Argument(help="A .txt article, a folder of .txt files, a .jsonl of {id,text[,pub_date]}, or - for stdin.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="jsonl records or a readable table.")] = OutputFormat.jsonl,
    model: Annotated[Optional[Path], typer.Option(help="A model folder; default: the bundled model.")] = None,
    batch_size: Annotated[int, typer.Option(help="Articles per batch.")] = 32,
    quantize: Annotated[bool, typer.Option(help="Dynamic int8 on CPU (faster).")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write the read report (rejected records) as JSON.")] = None,
) -> None:
    """Extract entities and relations from articles."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from zhie.inference import Extractor, ModelNotFoundError

    try:
        ex = Extractor.load(model, quantize=quantize)
    except ModelNotFoundError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    rep = ReadReport(input)
    try:
        articles = read_articles(input, rep)
        out = open(output, "w", encoding="utf-8") if output else sys.stdout
        done, batch = 0, []
        try:
            for art in articles:
                batch.append(art)
                if len(batch) == batch_size:
                    done += _write_batch(ex, batch, out, format)
                    batch = []
                    _err(f"[predict] {done} articles")
            if batch:
                done += _write_batch(ex, batch, out, format)
        finally:
            if output:
                out.close()
    except FileNotFoundError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(2)
    _finish(rep, report)


def _write_batch(ex, batch, out, fmt: OutputFormat) -> int:
    recs = ex.predict_batch([a.text for a in batch], [a.pub_date for a in batch], [a.id for a in batch])
    for art, rec in zip(batch, recs):
        extra = {k: v for k, v in art.model_dump(exclude_none=True).items() if k not in rec}
        rec.update(extra)
        out.write(_table(rec) if fmt == OutputFormat.table else dump_line(rec) + "\n")
    out.flush()
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
