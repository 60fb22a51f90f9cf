"""`zhie annotate ...`: the Label Studio workflow, from a folder of articles to training data.

The Label Studio URL and API key come from --url/--api-key or LABEL_STUDIO_URL/LABEL_STUDIO_API_KEY
and are never printed. Reports go to stderr, so `-o -` leaves clean JSONL on stdout.
Wiring lives here: `inference` makes predictions, `annotation` turns them into tasks.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from zhie.annotation.jsonl import ReadReport, read_documents, write_jsonl
from zhie.annotation.labels import ENTITY_LABELS, RELATION_LABELS
from zhie.annotation.labelstudio.articles import IdConflict, has_annotations, read_articles
from zhie.annotation.labelstudio.errors import LabelStudioError
from zhie.annotation.labelstudio.config import config_problems, label_config
from zhie.annotation.labelstudio.convert import convert_export, document_to_task, read_export
from zhie.annotation.labelstudio.select import select_uncertain, uncertainty
from zhie.annotation.records import Document
from zhie.annotation.split import split_holdout

annotate_app = typer.Typer(help="Annotate in Label Studio: set up, import, export, convert, split, serve a backend.",
                           no_args_is_help=True)

Url = Annotated[str, typer.Option("--url", envvar="LABEL_STUDIO_URL", show_default=False,
                                  help="Label Studio URL (default http://localhost:8080).")]
ApiKey = Annotated[str, typer.Option("--api-key", envvar="LABEL_STUDIO_API_KEY", show_default=False,
                                     help="Label Studio API key (legacy token or personal access token).")]
Project = Annotated[str, typer.Option("--project", envvar="ZHIE_LS_PROJECT", help="Project title.")]
ModelDir = Annotated[Path | None, typer.Option("--model", help="Model folder (default: the bundled model).")]
DEFAULT_URL = "http://localhost:8080"
DEFAULT_PROJECT = "zhie-invest"


def _say(msg: str) -> None:
    typer.echo(msg, err=True)


def _fail(exc: Exception | str) -> typer.Exit:
    _say(f"error: {exc}")
    return typer.Exit(1)


def _studio(url: str, api_key: str):
    """The Label Studio client, imported only by the commands that talk to a server (the SDK takes 0.7 s)."""
    from zhie.annotation.labelstudio.client import Studio

    return Studio(url, api_key)


def _make_parents(*paths: Path | None) -> None:
    """Create the folders outputs go to before any slow work, so a typo fails first, not last."""
    for path in paths:
        if path is not None and str(path) != "-":
            path.parent.mkdir(parents=True, exist_ok=True)


@annotate_app.command()
def config() -> None:
    """Print the labeling config generated from the label set (to paste into a project by hand)."""
    typer.echo(label_config(), nl=False)


@annotate_app.command()
def setup(url: Url = DEFAULT_URL, api_key: ApiKey = "", project: Project = DEFAULT_PROJECT,
          backend_url: Annotated[str | None, typer.Option(
              help="Also connect a running `zhie annotate backend`, e.g. http://127.0.0.1:9090.")] = None) -> None:
    """Create the project, or update its labeling config to the current label set.

    With --backend-url, also connect the ML backend and make it the project's source of suggestions;
    this fails (exit 1) unless Label Studio reports the backend connected.
    """
    try:
        studio = _studio(url, api_key)
        pid, what = studio.setup_project(project, label_config())
        _say(f"project {project!r} {what} (id {pid}): labels {', '.join(ENTITY_LABELS)}; "
             f"relations {', '.join(RELATION_LABELS)}")
        if backend_url:
            ml_id, what = studio.connect_backend(pid, backend_url, "zhie")
            _say(f"ML backend {ml_id} {what}")
    except LabelStudioError as exc:
        raise _fail(exc) from None


@annotate_app.command("import")
def import_(
    articles: Annotated[list[Path], typer.Argument(help=".txt files, directories, or JSONL files of records.")],
    url: Url = DEFAULT_URL, api_key: ApiKey = "", project: Project = DEFAULT_PROJECT,
    predict: Annotated[bool, typer.Option(help="Attach our model's predictions for pre-annotation.")] = False,
    model: ModelDir = None,
    select: Annotated[int | None, typer.Option(
        help="Import only the N articles the model is least sure about (implies --predict).")] = None,
) -> None:
    """Import articles as tasks; JSONL records that carry entities come in as annotations to review.

    Articles already in the project (same record id, same text) are skipped, so re-running on a
    growing folder imports only the new ones; a different text under a known id stops the import.
    With predictions, the project is switched to show those of this model (Label Studio shows one
    model version at a time).
    """
    try:
        docs, reports = read_articles(articles)
    except (FileNotFoundError, IdConflict) as exc:
        raise _fail(exc) from None
    _print_reports(reports)
    _say(f"read {len(docs)} articles from {len(reports)} files")
    if not docs:
        raise _fail("nothing to import: no readable article in the inputs (see above; .txt files must be "
                    "UTF-8: convert GBK files first, e.g. `iconv -f GBK -t UTF-8`)")
    try:
        studio = _studio(url, api_key)
        pid = studio.project_id(project)
        if problems := config_problems(studio.label_config(pid)):
            raise LabelStudioError(f"project {project!r} does not fit the label set ({'; '.join(problems)}); "
                                   "run `zhie annotate setup`")
        existing = studio.doc_texts(pid)
        if clash := [d.id for d in docs if d.id in existing and existing[d.id] != d.text]:
            raise LabelStudioError(f"{len(clash)} record id(s) are already in project {project!r} with a different "
                                   f"text: {', '.join(clash[:10])}{' ...' if len(clash) > 10 else ''}. "
                                   "Nothing was imported: rename the file (a .txt file's id is its path inside "
                                   "the folder given) or change the record id, or restore the text imported before")
        new = [d for d in docs if d.id not in existing]
        if len(new) < len(docs):
            _say(f"skipped {len(docs) - len(new)} articles already in the project")
        if not new:
            _say("nothing new to import")
            return
        preds: dict[str, Document] = {}
        version: str | None = None
        if predict or select is not None:
            from zhie.inference import Extractor

            extractor = Extractor.load(model)
            version = extractor.model_version
            predicted = extractor.predict_documents(new)
            if select is not None:
                predicted = select_uncertain(predicted, select)
                by_id = {d.id: d for d in new}
                new = [by_id[p.id] for p in predicted]  # most uncertain first: Label Studio shows import order
                _say(f"selected {len(new)} articles by uncertainty (least confidence), "
                     f"from {uncertainty(predicted[0]):.3f} down to {uncertainty(predicted[-1]):.3f}"
                     if predicted else "selected no articles")
            preds = {p.id: p for p in predicted}
        tasks = [document_to_task(d, annotated=has_annotations(d), prediction=preds.get(d.id), model_version=version)
                 for d in new]
        n = studio.import_tasks(pid, tasks)
        with_pred = f", {len(preds)} with predictions from model {version}" if preds else ""
        _say(f"imported {n} tasks into {project!r}{with_pred}")
        if preds and version:
            _say(studio.show_predictions(pid, version))
    except (LabelStudioError, ValueError, FileNotFoundError) as exc:
        raise _fail(exc) from None


def _print_reports(reports: list[ReadReport]) -> None:
    for rep in reports:
        if rep.rejected:
            _say(rep.summary())
            for r in rep.rejected:
                _say(f"  {r}")


def _write_converted(tasks: list[Any], source: str, out: Path, report: Path | None) -> None:
    """Write the records converted from `tasks`; exits 1, writing no records, when none converts."""
    docs, rep = convert_export(tasks, source)
    for issue in (*rep.rejected, *rep.notes):
        _say(f"  {issue}")
    _say(rep.summary())
    if report is not None:
        report.write_text(json.dumps(rep.to_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if not docs:
        raise _fail(f"no task converted, so {out} was not written: annotate and submit tasks first "
                    "(skipped or unannotated tasks give no records)")
    write_jsonl(docs, out)


Out = Annotated[Path, typer.Option("--output", "-o", help="Canonical JSONL to write ('-' for stdout).")]
ReportOpt = Annotated[Path | None, typer.Option(help="Also write the conversion report as JSON.")]


@annotate_app.command()
def export(out: Out, url: Url = DEFAULT_URL, api_key: ApiKey = "", project: Project = DEFAULT_PROJECT,
           report: ReportOpt = None) -> None:
    """Pull the full JSON export of the project and convert it to canonical records."""
    _make_parents(out, report)
    try:
        studio = _studio(url, api_key)
        tasks = studio.export_tasks(studio.project_id(project))
    except LabelStudioError as exc:
        raise _fail(exc) from None
    _write_converted(tasks, f"project {project!r}", out, report)


@annotate_app.command()
def convert(export_file: Annotated[Path, typer.Argument(help="A JSON export downloaded from the Label Studio UI.")],
            out: Out, report: ReportOpt = None) -> None:
    """Convert a Label Studio JSON export file (format JSON, not JSON-MIN or CSV) to canonical records."""
    try:
        tasks = read_export(export_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise _fail(f"{export_file}: {exc}") from None
    _make_parents(out, report)
    _write_converted(tasks, str(export_file), out, report)


@annotate_app.command()
def split(
    records: Annotated[Path, typer.Argument(
        help="Canonical JSONL (from export/convert) or a Label Studio JSON export.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="JSONL of the records to train on.")],
    heldout: Annotated[Path, typer.Option(help="JSONL of the held-out records, to evaluate each round on.")],
    holdout: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of records to hold out.")] = 0.15,
    seed: Annotated[int, typer.Option(help="Keep it the same every round.")] = 0,
) -> None:
    """Hold out part of the annotated records, by a hash of each record id.

    The same ids stay held out as the export grows from round to round, so scores of successive
    models are measured on articles none of them was trained on.
    """
    if records.suffix == ".json":
        try:
            tasks = read_export(records.read_bytes())
        except (OSError, ValueError) as exc:
            raise _fail(f"{records}: {exc}") from None
        docs, conv = convert_export(tasks, str(records))
        _say(conv.summary())
    else:
        read = ReadReport(str(records))
        try:
            docs = list(read_documents(records, read))
        except OSError as exc:
            raise _fail(exc) from None
        _print_reports([read])
    if not docs:
        raise _fail(f"no records in {records} to split")
    train, held = split_holdout(docs, holdout, seed)
    _make_parents(out, heldout)
    write_jsonl(train, out)
    write_jsonl(held, heldout)
    _say(f"{len(docs)} records: {len(train)} to {out}, {len(held)} held out to {heldout} (seed {seed})")


@annotate_app.command()
def backend(model: ModelDir = None,
            host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
            port: Annotated[int, typer.Option(help="Port to listen on.")] = 9090) -> None:
    """Serve our model to Label Studio as an ML backend (connect it with `setup --backend-url`)."""
    import uvicorn

    from zhie.inference import Extractor
    from zhie.inference.ls_backend import create_app

    try:
        extractor = Extractor.load(model)
    except FileNotFoundError as exc:
        raise _fail(exc) from None
    uvicorn.run(create_app(extractor), host=host, port=port)
