"""The predict API: text in, `Document` out, through visible stages over one model backend.

    texts ─▶ NerTagger (backend: torch fp32 | torch int8 | ONNX Runtime) ─▶ relations ─▶ values ─▶ projects

Each stage takes and returns `Document`s, so a stage can be run alone (`predict_relations` on
entities a person corrected) and a new stage slots in without touching the others. The default
relation stage reads the token states the NER pass kept, so one encoder pass serves both.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

from transformers import AutoConfig

from zhie.annotation.records import Document
from zhie.inference.backends import OnnxBackend, TokenBackend, TorchBackend, resolve_quantize
from zhie.inference.ner import NerTagger
from zhie.inference.projects import ProjectStage
from zhie.models.lexicon import default_lexicon, uses_lexicon
from zhie.models.ner import crf_transitions
from zhie.models.pair_head import has_pair_head
from zhie.models.tokenizer import load_tokenizer
from zhie.models.version import model_version

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
DEFAULT_MODEL_DIR = WEIGHTS / "ner"
DEFAULT_RELATION_DIR = WEIGHTS / "re"

Backend = Literal["torch", "onnx"]


class ModelNotFoundError(FileNotFoundError):
    """No model at the given path (or no bundled default)."""


class Stage(Protocol):
    """One step of the pipeline: documents in, the same documents with more filled in out."""

    name: str

    def __call__(self, docs: Sequence[Document]) -> list[Document]: ...


def _check_model_dir(path: Path, what: str, bundled: bool) -> None:
    if not (path / "config.json").exists():
        hint = f" (the bundled default {what} model is missing: run `make model`)" if bundled else ""
        raise ModelNotFoundError(f"no {what} model found at {path}{hint}")


class Extractor:
    """Runs the stages in order over batches of documents."""

    def __init__(self, ner: NerTagger, model_version: str, relations: Stage | None = None,
                 values: Stage | None = None) -> None:
        self.ner = ner
        self.relations = relations
        self.values = values
        self.model_version = model_version
        self.stages: list[Stage] = [s for s in (ner, relations, values, ProjectStage()) if s is not None]

    @property
    def tokenizer(self):
        return self.ner.tokenizer

    @classmethod
    def load(cls, path: str | Path | None = None, quantize: bool | None = None, backend: Backend = "torch",
             relations: str | Path | bool | None = None, values: bool = True, **ner_options) -> "Extractor":
        """Load a saved NER model folder (`None`: the bundled default) and its relation stage.

        quantize: dynamic int8 (torch backend; a marker relation model too); `None` = int8 wherever this torch
        can run it (2.0-2.8x fp32's speed on two cores, the same dev F1), `False` = fp32.
        backend "onnx" runs `model.onnx` in the NER folder.
        relations: `None` = the relation head saved beside the NER weights (`zhie train re-head`: no second
        encoder pass), else a bundled marker model when present; a folder = that marker model
        (`zhie train re`); `False` = none.
        values: normalise MONEY/DATE/LOC values (amounts, ISO dates, administrative divisions).
        """
        ner_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
        _check_model_dir(ner_dir, "NER", bundled=path is None)
        quantize = resolve_quantize(quantize)
        engine: TokenBackend = (OnnxBackend.load(ner_dir) if backend == "onnx"
                                else TorchBackend.load(ner_dir, quantize=quantize))
        version = model_version(ner_dir) + ("-int8" if quantize and backend == "torch" else "")
        config = AutoConfig.from_pretrained(str(ner_dir))
        ner = NerTagger(engine, load_tokenizer(ner_dir), transitions=crf_transitions(config),
                        lexicon=default_lexicon() if uses_lexicon(config) else None, **ner_options)
        rel_stage = None
        if relations is None and has_pair_head(ner_dir):  # the head beside the NER weights: one encoder pass
            rel_stage = _shared_relation_stage(ner, ner_dir)
        else:
            rel_dir = DEFAULT_RELATION_DIR if relations is None or relations is True else relations
            if relations is not False and (relations is not None or (Path(rel_dir) / "config.json").exists()):
                rel_dir = Path(rel_dir)
                _check_model_dir(rel_dir, "relation", bundled=relations is None)
                rel_stage = _relation_stage(rel_dir, quantize)
                version += "+" + model_version(rel_dir)
        return cls(ner, version, relations=rel_stage, values=_value_stage() if values else None)

    def predict(self, text: str, pub_date: str | None = None, id: str | None = None) -> Document:
        return self.predict_batch([text], [pub_date], [id] if id is not None else None)[0]

    def predict_batch(self, texts: Sequence[str], pub_dates: Sequence[str | None] | None = None,
                      ids: Sequence[str | None] | None = None) -> list[Document]:
        """Predict many texts at once; record ids default to doc-1, doc-2, ..."""
        for name, seq in (("pub_dates", pub_dates), ("ids", ids)):
            if seq is not None and len(seq) != len(texts):
                raise ValueError(f"{len(seq)} {name} for {len(texts)} texts")
        docs = []
        for i, text in enumerate(texts):
            extra = {"pub_date": pub_dates[i]} if pub_dates is not None and pub_dates[i] else {}
            docs.append(Document(id=(ids[i] if ids is not None else None) or f"doc-{i + 1}", text=text, **extra))
        return self.predict_documents(docs)

    def warm_up(self) -> None:
        """Load now what stages load on first use (jionlp's tables and zhconv's dictionary, ~2 s), so that
        a server's first request or a timed run does not pay for it."""
        for stage in self.stages:
            warm = getattr(stage, "warm_up", None)
            if warm is not None:
                warm()

    def predict_documents(self, docs: Sequence[Document]) -> list[Document]:
        """Run every stage on `docs` (ids and extra fields such as pub_date are kept)."""
        return self._run(self.stages, docs)

    def predict_relations(self, record: Document | dict) -> Document:
        """A record whose entities are given (gold or corrected), returned with predicted relations and projects."""
        doc = record if isinstance(record, Document) else Document.model_validate(record)
        stages = [s for s in self.stages if s is not self.ner]
        if self.relations is None:
            raise ModelNotFoundError("this Extractor has no relation model (load one with relations=PATH)")
        return self._run(stages, [doc])[0]

    @staticmethod
    def _run(stages: Sequence[Stage], docs: Sequence[Document]) -> list[Document]:
        out = list(docs)
        for stage in stages:
            out = stage(out)
            if len(out) != len(docs):
                raise RuntimeError(f"stage {stage.name} returned {len(out)} documents for {len(docs)}")
        # the output contract: every record re-validated (offsets, overlaps, relation types, projects)
        return [Document.model_validate(d.model_dump()) for d in out]


def _relation_stage(model_dir: Path, quantize: bool) -> Stage:
    from zhie.inference.relations import RelationTagger

    return RelationTagger.load(model_dir, quantize=quantize)  # a Stage itself: name + __call__


def _shared_relation_stage(ner: NerTagger, model_dir: Path) -> Stage:
    from zhie.inference.relations import SharedRelationTagger

    return SharedRelationTagger.load(ner, model_dir)


def _value_stage() -> Stage:
    from zhie.inference.values import ValueNormaliser

    return ValueNormaliser()


class Predictor(Protocol):
    """What servers need of an Extractor (tests may pass a stand-in)."""

    model_version: str

    def predict_documents(self, docs: Sequence[Document]) -> list[Document]: ...
