"""`zhie train ner` and `zhie pretrain`."""
from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer

from zhie.training.run_config import NerRunConfig, PretrainRunConfig, RunConfig, RunConfigError

C = TypeVar("C", bound=RunConfig)

train_app = typer.Typer(help="Train models.", no_args_is_help=True)

NER, PRETRAIN = NerRunConfig(), PretrainRunConfig()  # the defaults, shown in --help (flags default to None)
CONFIG_HELP = "Run configuration file (.toml or .json, same keys as the flags); flags given override it."


def _shown(value) -> str:
    return str(value.value if isinstance(value, Enum) else value)


def _config(kind: type[C], path: Path | None, **flags) -> C:
    """The run's configuration: defaults < file < flags given; a bad file or value exits 2."""
    try:
        return kind.load(path, **{k: v.value if isinstance(v, Enum) else v for k, v in flags.items()})
    except RunConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def _check(specs: list[str]) -> None:
    """Parse every data spec before loading any: a typo fails in a second, naming the spec (exit 2)."""
    from zhie.training.data_specs import DataSourceError, parse_spec

    try:
        for spec in specs:
            parse_spec(spec)
    except DataSourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def _load(specs: list[str]):
    """Documents of every `SPEC[*N]` (N = repeat); a spec that cannot give documents exits 2, naming it."""
    from zhie.training.data_specs import DataSourceError, load_specs

    try:
        return load_specs(specs, log=lambda line: typer.echo(line, err=True))
    except DataSourceError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def evaluate_model(model_dir: Path, dev_docs) -> dict:
    """Character-level strict scores of a saved model on documents, as `zhie predict --no-quantize` reads them:
    fp32, the weights as trained, so runs compare with every score recorded before int8 became the default."""
    from zhie.inference import Extractor
    from zhie.training.metrics import evaluate_documents

    extractor = Extractor.load(model_dir, quantize=False, relations=False, values=False)
    return evaluate_documents(dev_docs, extractor.predict_documents(dev_docs))


@train_app.command("ner")
def train_ner_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", help=CONFIG_HELP)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the trained model. (default: " + _shown(NER.output) + ")")] = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Training source SPEC[*N], repeatable: news:SPLIT, cluener, fewfc, pd[:N], or a .jsonl file. (default: " + " ".join(NER.data) + ")")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source (same SPEC syntax); 'none' to skip. (default: " + _shown(NER.dev) + ")")] = None,
    base_model: Annotated[Optional[str], typer.Option(help="Encoder: checkpoint folder or HF name, or random:PRESET. (default: our pretrained encoder)")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimisation steps. (default: " + _shown(NER.max_steps) + ")")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="(default: " + _shown(NER.batch_size) + ")")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate. (default: " + _shown(NER.lr) + ")")] = None,
    max_len: Annotated[Optional[int], typer.Option(help="Tokens per training window. (default: " + _shown(NER.max_len) + ")")] = None,
    seed: Annotated[Optional[int], typer.Option(help="(default: " + _shown(NER.seed) + ")")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT/checkpoints.")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes.")] = None,
    crf: Annotated[Optional[bool], typer.Option("--crf", help="Train with a CRF loss; the learned tag transitions are saved in the model's config and used in decoding.")] = None,
    lexicon: Annotated[Optional[bool], typer.Option("--lexicon", help="Add word-boundary and gazetteer features (jieba, jionlp divisions) as token types; saved in the model's config and computed again at inference.")] = None,
    adversarial_epsilon: Annotated[Optional[float], typer.Option(help="FGM adversarial training: each step also learns from word embeddings moved this far along their loss gradient (twice the compute; 0: off). (default: " + _shown(NER.adversarial_epsilon) + ")")] = None,
) -> None:
    """Fine-tune the NER model and report strict per-label scores on the dev set.

    The resolved options are saved to OUTPUT/run_config.json (with the git revision) before training.
    """
    cfg = _config(NerRunConfig, config, output=output, data=data or None, dev=dev, base_model=base_model,
                  max_steps=max_steps, batch_size=batch_size, lr=lr, max_len=max_len, seed=seed, resume=resume,
                  max_minutes=max_minutes, crf=crf, lexicon=lexicon, adversarial_epsilon=adversarial_epsilon)
    from zhie.training.metrics import format_report
    from zhie.training.train_ner import train_ner

    _check([*cfg.data, *([cfg.dev] if cfg.dev else [])])
    train_docs = _load(cfg.data)
    dev_docs = _load([cfg.dev]) if cfg.dev else None
    metrics = train_ner(train_docs, dev_docs, cfg)
    if dev_docs:
        rep = evaluate_model(cfg.output, dev_docs)
        metrics["dev"] = rep
        (cfg.output / "dev_report.json").write_text(json.dumps(rep, indent=2, ensure_ascii=False), encoding="utf-8")
        typer.echo(format_report(rep))
    typer.echo(f"saved to {cfg.output}", err=True)


class Preset(str, Enum):
    """Encoder sizes of models/encoder.py (kept here as names so `zhie --help` needs no torch)."""

    small = "small"
    base = "base"


def pretrain(
    config: Annotated[Optional[Path], typer.Option("--config", help=CONFIG_HELP)] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output-dir", help="Checkpoint, fp32 model, tokenizer and pretrain_metrics.json. (default: " + _shown(PRETRAIN.output_dir) + ")")] = None,
    corpus: Annotated[Optional[Path], typer.Option(help="Corpus folder written by `python -m zhie.training.corpus` (train.bin.gz, heldout.bin.gz). (default: " + _shown(PRETRAIN.corpus) + ")")] = None,
    preset: Annotated[Optional[Preset], typer.Option(help="Encoder size: small (L4 H256, ~8.8 M params) or base (L6 H384, ~19 M). (default: " + _shown(PRETRAIN.preset) + ")")] = None,
    build_corpus: Annotated[Optional[bool], typer.Option("--build-corpus", help="First build the corpus into CORPUS from DATA_ROOT (~3 min on 2 cores).")] = None,
    data_root: Annotated[Optional[Path], typer.Option(envvar="ZHIE_SHARED_DATA", help="Raw text sources for --build-corpus. (default: ../shared/data beside the checkout)")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="With --build-corpus: only this source, repeatable (default: all; see training/corpus_sources.py).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="With --build-corpus: tokenising processes. (default: " + _shown(PRETRAIN.workers) + ")")] = None,
    corpus_max_megabytes: Annotated[Optional[float], typer.Option(help="With --build-corpus: cap on the compressed corpus; over it, low-priority sources are dropped. (default: no cap)")] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Training budget in minutes; the LR schedule is planned to end with it.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Total optimizer steps (default: one epoch, or what the budget allows).")] = None,
    stop_after_steps: Annotated[Optional[int], typer.Option(help="End this invocation after N steps, keeping the schedule (continue with --resume).")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue from OUTPUT_DIR/checkpoint.pt.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Sequences per step. (default: 256 on CUDA, 16 on CPU)")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate. (default: " + _shown(PRETRAIN.lr) + ")")] = None,
    warmup_fraction: Annotated[Optional[float], typer.Option(help="Linear warmup, as a fraction of the planned steps. (default: " + _shown(PRETRAIN.warmup_fraction) + ")")] = None,
    eval_sequences: Annotated[Optional[int], typer.Option(help="Held-out sequences scored at checkpoints and at the end. (default: " + _shown(PRETRAIN.eval_sequences) + ")")] = None,
    checkpoint_minutes: Annotated[Optional[float], typer.Option(help="Minutes between checkpoints. (default: " + _shown(PRETRAIN.checkpoint_minutes) + ")")] = None,
    log_seconds: Annotated[Optional[float], typer.Option(help="Seconds between progress lines. (default: " + _shown(PRETRAIN.log_seconds) + ")")] = None,
    export_fp16: Annotated[Optional[Path], typer.Option("--export-fp16", help="Also write fp16 safetensors shards + config here, at start, checkpoints and end.")] = None,
    export_max_file_mb: Annotated[Optional[float], typer.Option(help="With --export-fp16: no file above this many MiB (shards are cut below it). (default: no limit)")] = None,
    seed: Annotated[Optional[int], typer.Option(help="(default: " + _shown(PRETRAIN.seed) + ")")] = None,
) -> None:
    """Pretrain our compact Chinese BERT encoder (masked LM with whole-word masking).

    Progress goes to stderr; a JSON summary (steps, epochs, hours, held-out MLM loss and accuracy) to stdout.
    The resolved options are saved to OUTPUT_DIR/run_config.json (with the git revision) before training.
    """
    cfg = _config(PretrainRunConfig, config, output_dir=output, corpus=corpus, preset=preset,
                  build_corpus=build_corpus, data_root=data_root, source=source or None, workers=workers,
                  corpus_max_megabytes=corpus_max_megabytes, max_minutes=max_minutes, max_steps=max_steps,
                  stop_after_steps=stop_after_steps, resume=resume, batch_size=batch_size, lr=lr,
                  warmup_fraction=warmup_fraction, eval_sequences=eval_sequences,
                  checkpoint_minutes=checkpoint_minutes, log_seconds=log_seconds, export_fp16=export_fp16,
                  export_max_file_mb=export_max_file_mb, seed=seed)
    if cfg.build_corpus and cfg.resume:
        typer.echo("error: --build-corpus with --resume would move the data under the checkpoint's position", err=True)
        raise typer.Exit(2)
    log = lambda line: typer.echo(line, err=True)  # noqa: E731
    if cfg.build_corpus:
        from zhie.training.corpus import build_corpus as build
        from zhie.training.paths import SHARED

        try:
            build(cfg.corpus, cfg.data_root or SHARED, sources=cfg.source, workers=cfg.workers,
                  max_megabytes=cfg.corpus_max_megabytes, log=log)
        except (ValueError, FileNotFoundError, ImportError) as exc:
            typer.echo(f"error: building the corpus failed: {exc}", err=True)
            raise typer.Exit(2)
    missing = [n for n in ("train.bin.gz", "heldout.bin.gz") if not (cfg.corpus / n).is_file()]
    if missing:
        typer.echo(f"error: no corpus in {cfg.corpus} (missing {', '.join(missing)}): add --build-corpus, "
                   "or run `python -m zhie.training.corpus --out DIR`", err=True)
        raise typer.Exit(2)

    from zhie.training.pretrain import pretrain as run_pretrain

    try:
        result = run_pretrain(cfg, log=log)
    except (FileNotFoundError, ValueError) as exc:  # --resume without checkpoint, or of another configuration
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    training, held = result["training"], result["losses"]["eval"]
    typer.echo(json.dumps({"preset": cfg.preset, "steps": training["steps"], "epochs": training["epochs"],
                           "hours": training["hours"], "stopped_by": training["stopped_by"],
                           "heldout_loss": held["loss"], "heldout_accuracy": held["accuracy"],
                           "output": str(cfg.output_dir),
                           "export_fp16": str(cfg.export_fp16) if cfg.export_fp16 else None}))


def dataset(
    spec: Annotated[str, typer.Argument(help="Source SPEC: news:SPLIT, cluener, fewfc, pd[:N] or a .jsonl file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Canonical JSONL to write (keep it out of the repo).")],
) -> None:
    """Write a training source as canonical records, e.g. the domain dev split to score a model on."""
    from zhie.annotation.jsonl import write_jsonl

    n = write_jsonl(_load([spec]), output)
    typer.echo(f"wrote {n} records to {output}", err=True)


from zhie.train_re_cmd import train_re_cmd, train_re_head_cmd  # noqa: E402  (verbs import their heavy modules)

train_app.command("re")(train_re_cmd)
train_app.command("re-head")(train_re_head_cmd)

from zhie.train_distil_cmd import train_distil_cmd  # noqa: E402

train_app.command("distil")(train_distil_cmd)


@train_app.command("prune")
def train_prune_cmd(
    source: Annotated[Path, typer.Argument(help="A trained NER model folder.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the pruned model.")],
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Source SPEC whose windows rank what is kept, repeatable.", show_default="news:train")] = None,
    hidden: Annotated[Optional[int], typer.Option(help="Hidden channels to keep (heads of 64 follow).", show_default="the model's")] = None,
    heads: Annotated[Optional[int], typer.Option(show_default="the model's, or hidden / 64")] = None,
    intermediate: Annotated[Optional[int], typer.Option(help="Feed-forward neurons to keep per layer.", show_default="the model's")] = None,
    layers: Annotated[Optional[int], typer.Option(help="Keep the first N layers.", show_default="all")] = None,
) -> None:
    """Width-prune a trained NER model: keep its most active hidden channels, heads and feed-forward neurons.

    Ranked by the model's activations on real windows (zhie.training.prune); fine-tune the result next
    (`zhie train ner --base-model OUTPUT`, or `zhie train distil --prune-from` to distil instead). A relation head
    beside SOURCE reads the unpruned states, so it is not copied: train one on the fine-tuned model (`zhie train re-head`).
    """
    from zhie.models.tokenizer import load_tokenizer
    from zhie.training.prune import prune_saved_model

    specs = data or ["news:train"]
    _check(specs)
    if not (source / "config.json").exists():
        typer.echo(f"error: no NER model at {source} (no config.json)", err=True)
        raise typer.Exit(2)
    try:
        model, info = prune_saved_model(source, _load(specs), hidden, heads, intermediate, layers)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    model.save_pretrained(output)
    load_tokenizer(source).save_pretrained(output)
    info = {**info, "data": specs}
    (output / "prune_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    typer.echo(json.dumps({k: v for k, v in info.items() if k != "heads"}))
