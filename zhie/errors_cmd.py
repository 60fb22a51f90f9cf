"""`zhie errors`: where the entity predictions go wrong, per label (see zhie.training.error_analysis)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from zhie.annotation.jsonl import ReadReport, read_documents


def errors(
    gold: Annotated[Path, typer.Argument(help="Gold records (canonical JSONL).")],
    pred: Annotated[Path, typer.Argument(help="Predicted records for the same ids (e.g. from zhie predict).")],
    top: Annotated[int, typer.Option("--top", min=0, help="Worst examples shown per category.")] = 10,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Also write the report as JSON (it quotes the texts: keep it in runs/).")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the count table as Markdown (numbers only).")] = False,
) -> None:
    """Count exact / boundary / wrong-label / missed / spurious spans per label and show the worst examples."""
    from zhie.training.error_analysis import (RecordMismatchError, analyse, format_examples, format_patterns,
                                              format_table)

    reports = [ReadReport(str(gold)), ReadReport(str(pred))]
    docs = [list(read_documents(path, rep)) for path, rep in zip((gold, pred), reports)]
    for rep in reports:
        for rej in rep.rejected:
            typer.echo(f"rejected: {rep.source} {rej}", err=True)
        typer.echo(rep.summary(), err=True)
    if any(rep.rejected for rep in reports):
        typer.echo("error: every record is needed for the analysis; fix the rejected lines", err=True)
        raise typer.Exit(1)
    try:
        report = analyse(docs[0], docs[1], top=top)
    except RecordMismatchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(format_table(report, markdown=markdown))
    typer.echo("\nsub-counts (may overlap each other):\n" + format_patterns(report))
    if top:
        typer.echo("\n" + format_examples(report))
    if output:
        output.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
