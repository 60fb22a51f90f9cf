"""Typed run configurations: one pydantic model per kind of run, its defaults written once, here.

A run's options come from three places, later ones winning: the model's defaults, a `--config`
file (JSON or TOML, same keys as the model's fields), and command-line flags that were given
(flags default to None, meaning "not given"). The library saves the resolved configuration with
the git revision into the output folder before step 0, so every model on disk says how it was made
and `--config OUTPUT/run_config.json` repeats the run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from zhie.training.paths import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROVENANCE = "provenance"  # the key `save` adds; `load` ignores it, so a saved file loads as a config


DevSource = Annotated[str | None, BeforeValidator(lambda value: None if value == "none" else value)]
"""A dev data spec; "none" — on the command line or in a config file — means no dev evaluation."""


class RunConfigError(ValueError):
    """A configuration file that cannot be read, or a value that does not fit its field."""


def git_state(repo: Path = REPO) -> dict[str, Any]:
    """The checkout's revision and whether it has uncommitted changes (None outside a git checkout)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if revision else None
    return {"git_revision": revision, "git_dirty": bool(status) if status is not None else None}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The table in a .json or .toml file (without a saved file's provenance)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunConfigError(f"config {path}: {exc.strerror or exc}") from exc
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise RunConfigError(f"config {path}: use a .json or .toml file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise RunConfigError(f"config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RunConfigError(f"config {path}: the file must hold a table of options")
    data.pop(PROVENANCE, None)
    return data


class RunConfig(BaseModel):
    """Base of every run configuration: load from file + overrides, save with provenance."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    FILE_NAME: ClassVar[str] = "run_config.json"

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any):
        """Defaults, then the file at `path` (if any), then every override that is not None."""
        data = read_config_file(path) if path is not None else {}
        data.update({k: v for k, v in overrides.items() if v is not None})
        source = f"config {path}" if path is not None else "options"
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors())
            raise RunConfigError(f"{source}: {problems}") from exc

    def save(self, output_dir: str | Path) -> Path:
        """Write OUTPUT_DIR/run_config.json: every option plus the kind of run and the git state."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        data = self.model_dump(mode="json")
        data[PROVENANCE] = {"kind": type(self).__name__, **git_state()}
        path = out / self.FILE_NAME
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


class NerRunConfig(RunConfig):
    """`zhie train ner`: these defaults are the bundled model's recipe (configs/ner-default.toml)."""

    output: Path = Path("runs/ner")
    data: list[str] = ["news:train*10", "cluener", "fewfc", "pd:4000"]
    dev: DevSource = "news:dev"  # None: no dev evaluation
    base_model: str | None = None  # None: our bundled encoder; "random:PRESET"; or a checkpoint folder/name
    max_steps: int = 4000
    batch_size: int = 32
    lr: float = 1e-4
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    max_len: int = 256
    seed: int = 13
    resume: bool = False
    max_minutes: float | None = None
    save_minutes: float = 5.0
    logging_steps: int = 50
    crf: bool = False  # CRF loss and decoding: learned IOB2 transitions, saved in the model's config
    lexicon: bool = False  # word-boundary + gazetteer features as token types (zhie.models.lexicon), saved in config
    lexicon_lr: float = 1e-3  # learning rate of the lexicon feature rows (they start as copies of one row)
    adversarial_epsilon: float = Field(0.0, ge=0.0)  # FGM on word embeddings (zhie.training.adversarial); 0: off


class PretrainRunConfig(RunConfig):
    """`zhie pretrain`: masked-LM pretraining of our encoder, optionally building its corpus first."""

    output_dir: Path = Path("runs/pretrain")
    corpus: Path = Path("runs/corpus")
    preset: Literal["small", "base"] = "base"
    build_corpus: bool = False
    data_root: Path | None = None  # None: ../shared/data beside the checkout, or $ZHIE_SHARED_DATA
    source: list[str] | None = None  # None: every source of training.corpus_sources
    workers: int = 2
    corpus_max_megabytes: float | None = None  # cap on the compressed corpus (the accelerator's transfer limit)
    max_minutes: float | None = None
    max_steps: int | None = None  # None: one epoch, or what the time budget allows
    stop_after_steps: int | None = None
    resume: bool = False
    batch_size: int | None = None  # None: 256 on CUDA, 16 on CPU
    lr: float = 5e-4
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    mask_prob: float = 0.15
    eval_sequences: int = 2048
    checkpoint_minutes: float = 3.0
    log_seconds: float = 15.0
    export_fp16: Path | None = None
    export_max_file_mb: float | None = None  # refuse fp16 export files above this (the accelerator's limit)
    seed: int = 42
