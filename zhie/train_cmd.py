"""`zhie train ner` and `zhie pretrain`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

train_app = typer.Typer(help="Train models.", no_args_is_help=True)

DEFAULT_DATA = ["news:train*4", "cluener", "fewfc", "pd:4000"]


def _load(specs: list[str]):
    """Load each `SPEC[*N]` source (N = how many times to repeat it) and say how much it gave."""
    from training.data import DataSourceError, load_source

    docs = []
    for spec in specs:
        name, _, times = spec.partition("*")
        try:
            got = load_source(name)
        except DataSourceError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        typer.echo(f"[data] {name}: {len(got)} documents x{times or 1}", err=True)
        docs += got * int(times or 1)
    return docs


def evaluate_model(model_dir: Path, dev_docs) -> dict:
    """Character-level strict scores of a saved model on documents (what users get from `zhie predict`)."""
    from annotation.records import Document
    from inference import Extractor
    from training.metrics import evaluate_documents

    ex = Extractor.load(model_dir)
    preds = ex.predict_batch([d.text for d in dev_docs], ids=[d.id for d in dev_docs])
    return evaluate_documents(dev_docs, [Document.model_validate(p) for p in preds])


@train_app.command("ner")
def train_ner_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the trained model.")] = Path("runs/ner"),
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Training source SPEC[*N], repeatable: news:SPLIT, cluener, fewfc, pd[:N], or a .jsonl file.")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source (same SPEC syntax); 'none' to skip.")] = "news:dev",
    base_model: Annotated[Optional[str], typer.Option(help="Encoder: checkpoint folder or HF name, or random:PRESET. Default: our pretrained encoder.")] = None,
    max_steps: Annotated[int, typer.Option(help="Optimisation steps.")] = 3000,
    batch_size: Annotated[int, typer.Option()] = 16,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-4,
    max_len: Annotated[int, typer.Option(help="Tokens per training window.")] = 256,
    seed: Annotated[int, typer.Option()] = 13,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in OUTPUT/checkpoints.")] = False,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes.")] = None,
) -> None:
    """Fine-tune the NER model and report strict per-label scores on the dev set."""
    from training.metrics import format_report
    from training.train_ner import train_ner

    specs = data or DEFAULT_DATA
    train_docs = _load(specs)
    dev_docs = _load([dev]) if dev and dev != "none" else None
    metrics = train_ner(train_docs, dev_docs, output, base_model=base_model, max_steps=max_steps,
                        batch_size=batch_size, learning_rate=lr, max_len=max_len, seed=seed, resume=resume,
                        max_minutes=max_minutes)
    config = {"data": specs, "dev": dev, "base_model": base_model or "bundled encoder", "max_steps": max_steps,
              "batch_size": batch_size, "lr": lr, "max_len": max_len, "seed": seed, "max_minutes": max_minutes}
    (output / "train_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    if dev_docs:
        rep = evaluate_model(output, dev_docs)
        metrics["dev"] = rep
        (output / "dev_report.json").write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")
        typer.echo(format_report(rep))
    typer.echo(f"saved to {output}", err=True)


def pretrain() -> None:
    """Pretrain our compact Chinese BERT encoder (masked LM with whole-word masking)."""
    raise NotImplementedError
