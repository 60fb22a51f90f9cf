"""`zhie serve`: the model as an HTTP service (JSON API, a page for people, the Label Studio backend)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

TOKEN_ENV = "ZHIE_API_TOKEN"
DEFAULT_MAX_CHARS = 100_000  # kept equal to zhie.inference.server's (not imported: it pulls in torch)
DEFAULT_MAX_TEXTS = 64


def serve(
    model: Annotated[Optional[Path], typer.Option(help="A NER model folder; default: the bundled model.")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    quantize: Annotated[Optional[bool], typer.Option("--quantize/--no-quantize", help="Dynamic int8 (default wherever torch supports the CPU: 2-2.8x fp32's speed, the same dev F1); --no-quantize for fp32.", show_default=False)] = None,
    max_chars: Annotated[int, typer.Option(min=1, help="Longest text accepted, in characters (longer: 413).")] = DEFAULT_MAX_CHARS,
    max_texts: Annotated[int, typer.Option(min=1, help="Most texts in one request (more: 413).")] = DEFAULT_MAX_TEXTS,
) -> None:
    """Serve the model: POST /v1/extract, a page at /, docs at /docs, Label Studio backend at /ls.

    Set ZHIE_API_TOKEN in the environment to require `Authorization: Bearer <token>` on /v1 and /ls.
    """
    import uvicorn
    from transformers.utils import logging as hf_logging

    from zhie.inference import Extractor
    from zhie.inference.server import create_app

    hf_logging.disable_progress_bar()
    token = os.environ.get(TOKEN_ENV) or None
    try:
        extractor = Extractor.load(model, quantize=quantize)
        extractor.warm_up()
    except (FileNotFoundError, ValueError) as exc:  # a missing model (ModelNotFoundError) or weights file
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: listening on {host} without a token; set {TOKEN_ENV} to require one", err=True)
    typer.echo(f"model {extractor.model_version}; open http://{host}:{port}/ "
               f"(token {'required' if token else 'not required'})", err=True)
    uvicorn.run(create_app(extractor, api_token=token, max_chars=max_chars, max_texts=max_texts),
                host=host, port=port)
