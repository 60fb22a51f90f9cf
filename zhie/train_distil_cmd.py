"""`zhie train distil`: distil a NER model into a smaller, faster student (defaults: DistilRunConfig in training/distil.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def train_distil_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", help="Run configuration file (.toml or .json, same keys as the flags); flags given override it.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Folder for the student model.", show_default="runs/distil")] = None,
    teacher: Annotated[Optional[Path], typer.Option(help="The NER model to distil.", show_default="the bundled NER model")] = None,
    teacher_int8: Annotated[Optional[bool], typer.Option("--teacher-int8", help="Label with the teacher's dynamic-int8 copy (about 2x faster on CPU; near-identical labels).", show_default=False)] = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Gold-tagged source SPEC, repeatable (news:train or a canonical .jsonl; never dev/test): its text is distilled, its tags add cross-entropy.", show_default="news:train")] = None,
    dev: Annotated[Optional[str], typer.Option(help="Dev source for the report and the agreement with the teacher; 'none' to skip.", show_default="news:dev")] = None,
    data_root: Annotated[Optional[Path], typer.Option(envvar="ZHIE_SHARED_DATA", help="Where the external prose lives.", show_default="../shared/data beside the checkout")] = None,
    external_source: Annotated[Optional[list[str]], typer.Option("--external-source", help="Unlabelled prose source of training/corpus_sources.py, repeatable.", show_default="xinwenlianbo fincuge smoothnlp cfsc wwwxmu")] = None,
    external_chars: Annotated[Optional[int], typer.Option(help="Characters of unlabelled prose, shared evenly between the sources.", show_default="3000000")] = None,
    student_layers: Annotated[Optional[int], typer.Option(show_default="4")] = None,
    student_hidden: Annotated[Optional[int], typer.Option(help="Hidden size; at the teacher's, the student starts from its embeddings, first layers and classifier.", show_default="256")] = None,
    student_heads: Annotated[Optional[int], typer.Option(show_default="hidden / 64")] = None,
    student_intermediate: Annotated[Optional[int], typer.Option(show_default="4 x hidden")] = None,
    prune_from: Annotated[Optional[Path], typer.Option(help="Start the student as this NER model width-pruned to the student's size (its most active channels, heads and neurons kept).", show_default="the teacher's embeddings (and layers, at its hidden size)")] = None,
    unlabelled_windows: Annotated[Optional[int], typer.Option(help="At most this many unlabelled windows (a seeded sample): a run sized for a CPU.", show_default="all")] = None,
    kd_target: Annotated[Optional[str], typer.Option(help="What the student learns from the teacher: 'soft' (its tag distributions, KL) or 'path' (its decoded tags, cross-entropy).", show_default="soft")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Softmax temperature of the soft distillation loss.", show_default="2.0")] = None,
    gold_weight: Annotated[Optional[float], typer.Option(help="Weight of the cross-entropy on gold tags.", show_default="1.0")] = None,
    gold_repeat: Annotated[Optional[int], typer.Option(help="Gold-tagged windows per epoch, as a multiple.", show_default="2")] = None,
    epochs: Annotated[Optional[float], typer.Option(help="Passes over the windows.", show_default="3")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Optimisation steps (overrides --epochs).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(show_default="32")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Peak learning rate.", show_default="3e-4")] = None,
    threads: Annotated[Optional[int], typer.Option(help="Torch CPU threads.", show_default="torch's default")] = None,
    seed: Annotated[Optional[int], typer.Option(show_default="13")] = None,
    resume: Annotated[Optional[bool], typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT/checkpoints.", show_default=False)] = None,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes (teacher labelling not counted).")] = None,
    save_minutes: Annotated[Optional[float], typer.Option(help="Minutes between checkpoints.", show_default="4")] = None,
    export_fp16: Annotated[Optional[Path], typer.Option("--export-fp16", help="Also write an fp16 copy (the small one to bundle) here.")] = None,
    windows_only: Annotated[Optional[bool], typer.Option("--windows-only", help="Build the training windows (text work: corpora, jieba, jionlp), save them in OUTPUT/windows and stop.", show_default=False)] = None,
    windows: Annotated[Optional[Path], typer.Option(help="Train on windows saved by --windows-only (e.g. on an accelerator machine without the corpora).")] = None,
    dataloader_workers: Annotated[Optional[int], typer.Option(help="Processes padding batches beside training.", show_default="0")] = None,
) -> None:
    """Distil a NER model into a smaller student on teacher soft labels of unlabelled news + the gold train tags.

    Teacher labels are cached in OUTPUT/cache (a second run reuses them). The text work can run apart from the
    training: --windows-only saves the windows (compact integers), --windows DIR trains on them elsewhere. The resolved options are saved to
    OUTPUT/run_config.json (with the git revision) before training; OUTPUT/dev_report.json scores the
    student on dev and OUTPUT/train_metrics.json adds the teacher's scores and their agreement.
    """
    from zhie.inference import Extractor
    from zhie.train_cmd import _check, _config, _load
    from zhie.training.distil import DistilRunConfig, distil
    from zhie.training.paths import SHARED

    cfg = _config(DistilRunConfig, config, output=output, teacher=teacher, teacher_int8=teacher_int8, data=data or None,
                  dev=dev, data_root=data_root, external_sources=external_source or None,
                  external_chars=external_chars, student_layers=student_layers, student_hidden=student_hidden,
                  student_heads=student_heads, student_intermediate=student_intermediate, prune_from=prune_from,
                  unlabelled_windows=unlabelled_windows, kd_target=kd_target, temperature=temperature,
                  gold_weight=gold_weight, gold_repeat=gold_repeat, epochs=epochs, max_steps=max_steps,
                  batch_size=batch_size, lr=lr, threads=threads, seed=seed, resume=resume, max_minutes=max_minutes,
                  save_minutes=save_minutes, export_fp16=export_fp16, windows_only=windows_only, windows=windows,
                  dataloader_workers=dataloader_workers)
    _check([*([] if cfg.windows else cfg.data), *([cfg.dev] if cfg.dev else [])])
    root = cfg.data_root or SHARED
    if not cfg.windows and not root.is_dir():
        typer.echo(f"error: no external prose at {root} (set --data-root or ZHIE_SHARED_DATA)", err=True)
        raise typer.Exit(2)

    def predict(model_dir: Path, docs):
        return Extractor.load(model_dir, quantize=False, relations=False, values=False).predict_documents(docs)

    train_docs = [] if cfg.windows else _load(cfg.data)  # saved windows hold the gold tags already
    metrics = distil(train_docs, _load([cfg.dev]) if cfg.dev and not cfg.windows_only else None, cfg, predict=predict,
                     log=lambda line: typer.echo(line, err=True))
    if "dev" in metrics:
        typer.echo(json.dumps(metrics["dev"], indent=2, ensure_ascii=False))
    typer.echo(f"saved to {cfg.output}", err=True)

