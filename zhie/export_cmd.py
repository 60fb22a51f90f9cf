"""`zhie export-onnx`: write model.onnx beside a saved NER model for `--backend onnx`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def export_onnx(
    model: Annotated[Optional[Path], typer.Argument(help="A NER model folder; default: the bundled model.")] = None,
    int8: Annotated[bool, typer.Option("--int8/--fp32", help="Dynamic int8 weights (smaller, faster on CPU).")] = True,
    optimize: Annotated[bool, typer.Option("--optimize", help="Fuse attention, GELU and layer norms with ONNX Runtime's BERT optimiser (faster on CPU).")] = False,
) -> None:
    """Export a NER model to ONNX so `zhie predict --backend onnx` runs it with ONNX Runtime."""
    from zhie.inference.extractor import DEFAULT_MODEL_DIR
    from zhie.inference.onnx_export import export_onnx as export

    model_dir = model or DEFAULT_MODEL_DIR
    if not (model_dir / "config.json").exists():
        typer.echo(f"error: no NER model found at {model_dir}", err=True)
        raise typer.Exit(2)
    try:
        out = export(model_dir, int8=int8, optimize=optimize)
    except ImportError as exc:
        typer.echo(f"error: {exc.name} is not installed (pip install 'zh-invest-ie[onnx]')", err=True)
        raise typer.Exit(2)
    typer.echo(f"wrote {out}", err=True)
