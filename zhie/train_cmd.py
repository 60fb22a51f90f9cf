"""`zhie train ner` and `zhie pretrain`."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

train_app = typer.Typer(help="Train models.", no_args_is_help=True)

DEFAULT_DATA = ["news:train*10", "cluener", "fewfc", "pd:4000"]  # the bundled model's recipe


def _load(specs: list[str]):
    """Load each `SPEC[*N]` source (N = how many times to repeat it) and say how much it gave."""
    from zhie.training.data import DataSourceError, load_source

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
    from zhie.inference import Extractor
    from zhie.inference.extractor import predict_documents
    from zhie.training.metrics import evaluate_documents

    return evaluate_documents(dev_docs, predict_documents(Extractor.load(model_dir), dev_docs))


@train_app.command("ner")
def train_ner_cmd(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the trained model.")] = Path("runs/ner"),
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Training source SPEC[*N], repeatable: news:SPLIT, cluener, fewfc, pd[:N], or a .jsonl file.")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source (same SPEC syntax); 'none' to skip.")] = "news:dev",
    base_model: Annotated[Optional[str], typer.Option(help="Encoder: checkpoint folder or HF name, or random:PRESET. Default: our pretrained encoder.")] = None,
    max_steps: Annotated[int, typer.Option(help="Optimisation steps.")] = 4000,
    batch_size: Annotated[int, typer.Option()] = 32,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-4,
    max_len: Annotated[int, typer.Option(help="Tokens per training window.")] = 256,
    seed: Annotated[int, typer.Option()] = 13,
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in OUTPUT/checkpoints.")] = False,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes.")] = None,
) -> None:
    """Fine-tune the NER model and report strict per-label scores on the dev set."""
    from zhie.training.metrics import format_report
    from zhie.training.train_ner import train_ner

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


class Preset(str, Enum):
    """Encoder sizes of models/encoder.py (kept here as names so `zhie --help` needs no torch)."""

    small = "small"
    base = "base"


def pretrain(
    output: Annotated[Path, typer.Option("-o", "--output-dir", help="Checkpoint, fp32 model, tokenizer and pretrain_metrics.json.")] = Path("runs/pretrain"),
    corpus: Annotated[Path, typer.Option(help="Corpus folder written by `python -m zhie.training.corpus` (train.bin.gz, heldout.bin.gz).")] = Path(".device/corpus"),
    preset: Annotated[Preset, typer.Option(help="Encoder size: small (L4 H256, ~8.8 M params) or base (L6 H384, ~19 M).")] = Preset.base,
    build_corpus: Annotated[bool, typer.Option("--build-corpus", help="First build the corpus into CORPUS from DATA_ROOT (~3 min on 2 cores).")] = False,
    data_root: Annotated[Optional[Path], typer.Option(envvar="ZHIE_SHARED_DATA", help="Raw text sources for --build-corpus. [default: ../shared/data beside the checkout]")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="With --build-corpus: only this source, repeatable (default: all; see training/corpus.py).")] = None,
    workers: Annotated[int, typer.Option(help="With --build-corpus: tokenising processes.")] = 2,
    max_minutes: Annotated[Optional[float], typer.Option(help="Training budget in minutes; the LR schedule is planned to end with it.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Total optimizer steps (default: one epoch, or what the budget allows).")] = None,
    stop_after_steps: Annotated[Optional[int], typer.Option(help="End this invocation after N steps, keeping the schedule (continue with --resume).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from OUTPUT_DIR/checkpoint.pt.")] = False,
    batch_size: Annotated[Optional[int], typer.Option(help="Sequences per step. [default: 256 on CUDA, 16 on CPU]")] = None,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 5e-4,
    warmup_fraction: Annotated[float, typer.Option(help="Linear warmup, as a fraction of the planned steps.")] = 0.06,
    eval_sequences: Annotated[int, typer.Option(help="Held-out sequences scored at checkpoints and at the end.")] = 2048,
    checkpoint_minutes: Annotated[float, typer.Option(help="Minutes between checkpoints.")] = 3.0,
    log_seconds: Annotated[float, typer.Option(help="Seconds between progress lines.")] = 15.0,
    export_fp16: Annotated[Optional[Path], typer.Option("--export-fp16", help="Also write fp16 safetensors shards (<= 15 MB) + config here, at start, checkpoints and end.")] = None,
    seed: Annotated[int, typer.Option()] = 42,
) -> None:
    """Pretrain our compact Chinese BERT encoder (masked LM with whole-word masking).

    Progress goes to stderr; a JSON summary (steps, epochs, hours, held-out MLM loss and accuracy) to stdout.
    """
    if build_corpus and resume:
        typer.echo("error: --build-corpus with --resume would move the data under the checkpoint's position", err=True)
        raise typer.Exit(2)
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    if build_corpus:
        from zhie.training.corpus import DEFAULT_DATA_ROOT
        from zhie.training.corpus import build_corpus as build

        try:
            build(corpus, data_root or DEFAULT_DATA_ROOT, sources=source, workers=workers, log=log)
        except (ValueError, FileNotFoundError, ImportError) as exc:
            typer.echo(f"error: building the corpus failed: {exc}", err=True)
            raise typer.Exit(2)
    missing = [n for n in ("train.bin.gz", "heldout.bin.gz") if not (corpus / n).is_file()]
    if missing:
        typer.echo(f"error: no corpus in {corpus} (missing {', '.join(missing)}): add --build-corpus, "
                   "or run `python -m zhie.training.corpus --out DIR`", err=True)
        raise typer.Exit(2)

    from zhie.training.pretrain import pretrain as run_pretrain

    try:
        result = run_pretrain(corpus, output, preset.value, max_minutes=max_minutes, max_steps=max_steps,
                              stop_after_steps=stop_after_steps, resume=resume, batch_size=batch_size, lr=lr,
                              warmup_fraction=warmup_fraction, eval_sequences=eval_sequences,
                              checkpoint_minutes=checkpoint_minutes, log_seconds=log_seconds,
                              export_fp16_dir=export_fp16, seed=seed, log=log)
    except (FileNotFoundError, ValueError) as exc:  # --resume without checkpoint, or of another configuration
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    training, held = result["training"], result["losses"]["eval"]
    typer.echo(json.dumps({"preset": preset.value, "steps": training["steps"], "epochs": training["epochs"],
                           "hours": training["hours"], "stopped_by": training["stopped_by"],
                           "heldout_loss": held["loss"], "heldout_accuracy": held["accuracy"],
                           "output": str(output), "export_fp16": str(export_fp16) if export_fp16 else None}))


def dataset(
    spec: Annotated[str, typer.Argument(help="Source SPEC: news:SPLIT, cluener, fewfc, pd[:N] or a .jsonl file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Canonical JSONL to write (keep it out of the repo).")],
) -> None:
    """Write a training source as canonical records, e.g. the domain dev split to score a model on."""
    from zhie.annotation.jsonl import write_jsonl

    n = write_jsonl(_load([spec]), output)
    typer.echo(f"wrote {n} records to {output}", err=True)
