"""The `zhie` command: thin verbs that parse options and call library functions.

Heavy imports (torch, transformers) happen inside the verbs so `zhie --help` stays fast.
"""
from __future__ import annotations

import typer

from zhie.annotate_cmd import annotate_app
from zhie.bench_cmd import bench
from zhie.export_cmd import export_onnx
from zhie.errors_cmd import errors
from zhie.predict_cmd import evaluate, predict, validate
from zhie.serve_cmd import serve
from zhie.train_cmd import dataset, pretrain, train_app

app = typer.Typer(
    help="Extract investment projects, amounts, places, dates and organisations from Chinese news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold the Label Studio API key
)
app.command()(predict)
app.command()(evaluate)
app.command()(errors)
app.command()(validate)
app.command()(pretrain)
app.command()(dataset)
app.command("export-onnx")(export_onnx)
app.command()(bench)
app.command()(serve)
app.add_typer(train_app, name="train")
app.add_typer(annotate_app, name="annotate")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
