"""`zhie train re`: train the relation classifier (defaults: ReRunConfig in training/train_re.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def train_re_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", help="Run configuration file (.toml or .json, same keys as the flags); flags given override it.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the trained model.", show_default="runs/re")] = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Training source SPEC[*N], repeatable: news:SPLIT or a canonical .jsonl (e.g. a converted Label Studio export).", show_default="news:train")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source for thresholds and the dev report; 'none' to skip.", show_default="news:dev")] = None,
    base_model: Annotated[Optional[str], typer.Option(help="Encoder: any saved BERT checkpoint folder, or random:PRESET.", show_default="our pretrained encoder")] = None,
    encoder_layers: Annotated[Optional[int], typer.Option(help="Keep only the base encoder's first N layers (smaller, faster).", show_default="all")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="Passes over the linked pairs.", show_default="8")] = None,
    negatives_per_positive: Annotated[Optional[float], typer.Option(help="Unlinked pairs drawn afresh per epoch, per linked pair; 0 = all.", show_default="2")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimisation steps (overrides --epochs).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(show_default="16")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate.", show_default="1e-4")] = None,
    max_len: Annotated[Optional[int], typer.Option(help="Tokens per pair window, markers included.", show_default="96")] = None,
    seed: Annotated[Optional[int], typer.Option(show_default="13")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT/checkpoints.", show_default=False)] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes.")] = None,
    export_fp16: Annotated[Optional[Path], typer.Option("--export-fp16", help="Also write an fp16 copy (the small one to bundle) here.")] = None,
) -> None:
    """Train the relation classifier (project_amount, project_location) on candidate pairs.

    The resolved options are saved to OUTPUT/run_config.json (with the git revision) before training;
    thresholds are chosen on the dev set, whose report compares the model with the nearest-project rule.
    """
    from zhie.train_cmd import _check, _config, _load
    from zhie.training.train_re import ReRunConfig, train_re

    cfg = _config(ReRunConfig, config, output=output, data=data, dev=dev,
                  base_model=base_model, encoder_layers=encoder_layers, epochs=epochs,
                  negatives_per_positive=negatives_per_positive or None, max_steps=max_steps,
                  batch_size=batch_size, lr=lr, max_len=max_len, seed=seed, resume=resume, max_minutes=max_minutes,
                  export_fp16=export_fp16)
    if negatives_per_positive == 0:
        cfg.negatives_per_positive = None
    _check([*cfg.data, *([cfg.dev] if cfg.dev else [])])  # a bad spec fails before any loading, as in `train ner`
    train_docs = _load(cfg.data)
    dev_docs = _load([cfg.dev]) if cfg.dev else None
    metrics = train_re(train_docs, dev_docs, cfg)
    if "dev" in metrics:
        typer.echo(json.dumps({k: metrics["dev"][k] for k in ("thresholds", "model", "nearest_project_rule")},
                              indent=2, ensure_ascii=False))
    typer.echo(f"saved to {cfg.output}", err=True)


def train_re_head_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", help="Run configuration file (.toml or .json, same keys as the flags); flags given override it.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the NER model + relation head (a copy of --ner-model with the head beside it).", show_default="runs/ner-re")] = None,
    ner_model: Annotated[Optional[Path], typer.Option(help="The NER model whose token states the head reads.", show_default="the bundled NER model")] = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Training source SPEC[*N], repeatable: news:SPLIT or a canonical .jsonl.", show_default="news:train")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source for thresholds and the dev report; 'none' to skip.", show_default="news:dev")] = None,
    epochs: Annotated[Optional[float], typer.Option(show_default="8")] = None,
    lr: Annotated[Optional[float], typer.Option(show_default="1e-3")] = None,
    choice_weight: Annotated[Optional[float], typer.Option(help="Share of the loss on each amount/place's choice among its candidate projects; 0: each pair alone.", show_default="0.5")] = None,
    seed: Annotated[Optional[int], typer.Option(show_default="13")] = None,
) -> None:
    """Train the shared-encoder relation head: it reads the NER model's own token states, so
    relations cost no second encoder pass (minutes to train on 2 CPU cores).

    OUTPUT is the NER model with `relation_head.safetensors` beside it: `zhie predict --model OUTPUT`
    gives entities and relations from one encoder pass.
    """
    from zhie.train_cmd import _check, _config, _load
    from zhie.training.train_relation_head import HeadRunConfig, train_relation_head

    cfg = _config(HeadRunConfig, config, output=output, ner_model=ner_model, data=data,
                  dev=dev, epochs=epochs, lr=lr, choice_weight=choice_weight, seed=seed)
    _check([*cfg.data, *([cfg.dev] if cfg.dev else [])])
    metrics = train_relation_head(_load(cfg.data), _load([cfg.dev]) if cfg.dev else None, cfg)
    if "dev" in metrics:
        typer.echo(json.dumps({k: metrics["dev"][k] for k in ("thresholds", "model", "nearest_project_rule")},
                              indent=2, ensure_ascii=False))
    typer.echo(f"saved to {cfg.output}", err=True)
