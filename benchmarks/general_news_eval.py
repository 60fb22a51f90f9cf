"""Strict NER scores on general news: CLUENER dev and a held-out People's Daily 1998 slice.

  python benchmarks/general_news_eval.py [--corpus cluener|pd|both] [--limit N] [--pd-sentences K]
                                         [--model DIR] [--batch-size B] [--threads T] [-o report.json]

Gold entities come from each corpus's own annotation under our label mapping (annotation/corpora.py):
CLUENER company/government/organization -> ORG, address/scene -> LOC; People's Daily ns -> LOC,
t -> DATE, nt -> ORG. The MONEY/DATE spans that `annotation/patterns.py` fills in when these corpora
are used as training data are left out of the gold (`--with-patterns` keeps them, and then scores
MONEY, and DATE on CLUENER, against that silver gold). Only the labels the corpus annotates are scored:
predictions of any other label (PROJECT, MONEY, ...) are dropped before scoring, so they count neither
as false positives nor as hits. Scores are seqeval strict IOB2 over characters
(`zhie.training.metrics.evaluate_documents`), i.e. exact span and label.

CLUENER: the public dev split (`external/cluener/dev.json`, 1,343 sentences). Training only ever read
train.json (`training/data_specs.py`), and the encoder's pretraining corpus left CLUENER out.

People's Daily: `pd:N` trains on `random.Random(13).sample(sentences, N)` over the whole file (`train_cmd`
calls `load_specs` without a seed, so it is always 13), not on its first N sentences. The held-out
slice is therefore computed, not assumed: every `pd[:N]` spec found in the recorded training configs
(SPEC_FILES) and the NerRunConfig default is loaded through `load_source`, exactly as training loaded
it; sentences it picked, and any sentence whose text equals a picked one, are excluded; the slice is
the last K of the remaining sentences in file order (late January 1998). Caveat: the encoder's
masked-LM pretraining read People's Daily text (never its tags), so the slice is held out from NER
supervision, not from the encoder's unlabelled text.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.annotation import corpora  # noqa: E402
from zhie.annotation.records import Document  # noqa: E402
from zhie.training.data_specs import DataSourceError, load_source, parse_spec  # noqa: E402
from zhie.training.metrics import evaluate_documents, format_report  # noqa: E402
from zhie.training.paths import SHARED  # noqa: E402

CLUENER_DEV = SHARED / "external" / "cluener" / "dev.json"
# Where training data specs are recorded: the recipes, the bundled models' configs, the recorded runs.
SPEC_FILES = ("configs/*.toml", "models/weights/*/*config*.json", "docs/results/*/*/*config*.json")
PATTERN_LABELS = frozenset({"MONEY", "DATE"})  # what annotation.patterns.find_spans can add
CORPUS_LABELS = {"cluener": frozenset(corpora.CLUENER_MAP.values()), "pd": frozenset(corpora.PD_MAP.values())}


def recorded_pd_specs(repo: Path = REPO, patterns: Sequence[str] = SPEC_FILES,
                      defaults: Iterable[str] = ()) -> dict[str, list[str]]:
    """Every People's Daily spec (`pd` or `pd:N`, repetition dropped) that a recorded config trains on,
    with the files naming it."""
    found: dict[str, list[str]] = {}

    def add(specs, where: str) -> None:
        for text in specs if isinstance(specs, list) else []:
            try:
                spec = parse_spec(str(text))
            except DataSourceError:
                continue
            if spec.name == "pd":
                found.setdefault("pd" + (f":{spec.option}" if spec.option else ""), []).append(where)

    for pattern in patterns:
        for path in sorted(repo.glob(pattern)):
            try:
                cfg = (tomllib.loads(path.read_text(encoding="utf-8")) if path.suffix == ".toml"
                       else json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, OSError):
                continue
            if isinstance(cfg, dict):
                add(cfg.get("data"), str(path.relative_to(repo)))
    add(list(defaults), "NerRunConfig default")
    return found


def heldout_slice(sentences: Sequence[Document], trained: Iterable[Document], k: int) -> tuple[list[Document], int]:
    """The last `k` sentences (file order) neither picked for training nor equal in text to a picked one;
    also how many sentences qualify in all."""
    trained = list(trained)
    ids, texts = {d.id for d in trained}, {d.text for d in trained}
    free = [d for d in sentences if d.id not in ids and d.text not in texts]
    return free[-k:] if k > 0 else [], len(free)


def keep_labels(docs: Iterable[Document], labels: Iterable[str]) -> list[Document]:
    """The documents with only entities of `labels` (relations and projects cleared: they may name dropped ones)."""
    keep = set(labels)
    return [d.model_copy(update={"entities": [e for e in d.entities if e.label in keep],
                                 "relations": [], "projects": None}) for d in docs]


def load_cluener(with_patterns: bool) -> tuple[list[Document], dict]:
    if not CLUENER_DEV.exists():
        raise SystemExit(f"{CLUENER_DEV} is missing (set ZHIE_SHARED_DATA)")
    docs = list(corpora.read_cluener(CLUENER_DEV, fill_patterns=with_patterns))
    return docs, {"source": str(CLUENER_DEV), "slice": f"all {len(docs)} sentences of the public dev split"}


def load_pd(k: int, with_patterns: bool) -> tuple[list[Document], dict]:
    from zhie.training.run_config import NerRunConfig

    specs = recorded_pd_specs(defaults=NerRunConfig().data)
    if "pd" in specs:
        raise SystemExit(f"every People's Daily sentence was trained on ('pd' in {', '.join(specs['pd'])}): "
                         "no held-out slice exists")
    trained = [d for spec in sorted(specs) for d in load_source(spec)]  # exactly what training loaded
    sentences = list(corpora.read_peoples_daily(fill_patterns=with_patterns))
    docs, free = heldout_slice(sentences, trained, k)
    if not docs:
        raise SystemExit("no held-out People's Daily sentences")
    return docs, {
        "source": str(corpora.peoples_daily_path()),
        "slice": (f"the last {len(docs)} of the {free} of {len(sentences)} sentences that no recorded pd spec "
                  f"picks ({len({d.id for d in trained})} picked; equal texts excluded too)"),
        "trained_specs": specs, "first_id": docs[0].id, "last_id": docs[-1].id,
    }


def predict(extractor, docs: Sequence[Document], batch_size: int, name: str,
            log: Callable[[str], None]) -> tuple[list[Document], float]:
    """Predictions for `docs` (given without their gold entities), batch by batch; and the seconds it took."""
    bare = [d.model_copy(update={"entities": [], "relations": [], "projects": None}) for d in docs]
    total = sum(len(d.text) for d in docs)
    out: list[Document] = []
    done_chars, t0, shown = 0, time.perf_counter(), 0.0
    for i in range(0, len(bare), batch_size):
        batch = bare[i:i + batch_size]
        out += extractor.predict_documents(batch)
        done_chars += sum(len(d.text) for d in batch)
        elapsed = time.perf_counter() - t0
        if elapsed - shown >= 10 or len(out) == len(bare):
            shown = elapsed
            log(f"[{name}] {len(out)}/{len(bare)} docs, {done_chars:,}/{total:,} chars, "
                f"{done_chars / max(elapsed, 1e-9):,.0f} chars/s")
    return out, time.perf_counter() - t0


def score(name: str, gold: Sequence[Document], pred: Sequence[Document], labels: frozenset[str],
          seconds: float, meta: dict) -> dict:
    dropped = Counter(e.label for d in pred for e in d.entities if e.label not in labels)
    chars = sum(len(d.text) for d in gold)
    rep = evaluate_documents(keep_labels(gold, labels), keep_labels(pred, labels))
    return {"corpus": name, **meta, "documents": len(gold), "characters": chars,
            "gold_entities": sum(len(d.entities) for d in keep_labels(gold, labels)),
            "labels_scored": sorted(labels), "predictions_dropped": dict(sorted(dropped.items())),
            "seconds": round(seconds, 2), "chars_per_s": round(chars / max(seconds, 1e-9), 1),
            "entities": rep["entities"], "ids": [d.id for d in gold]}


def table(rep: dict) -> str:
    dropped = ", ".join(f"{k} {v}" for k, v in rep["predictions_dropped"].items()) or "none"
    return "\n".join([
        f"== {rep['corpus']}: {rep['documents']} documents, {rep['characters']:,} chars, "
        f"{rep['gold_entities']} gold entities ({'/'.join(rep['labels_scored'])} scored)",
        f"   {rep['slice']}",
        format_report({"entities": rep["entities"]}),
        f"predictions dropped (labels the corpus does not annotate): {dropped}",
        f"prediction: {rep['seconds']:.1f} s, {rep['chars_per_s']:,.0f} chars/s"])


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=("cluener", "pd", "both"), default="both")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N documents of each corpus")
    ap.add_argument("--pd-sentences", type=int, default=2000, help="size K of the held-out People's Daily slice")
    ap.add_argument("--model", type=Path, default=None, help="NER model folder; default: the bundled one")
    ap.add_argument("--batch-size", type=int, default=64, help="documents per predict_documents call")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    ap.add_argument("--with-patterns", action="store_true",
                    help="keep the pattern-filled MONEY/DATE spans in the gold (the silver data training saw) "
                         "and score them")
    ap.add_argument("-o", "--output", type=Path, help="write the report as JSON here")
    a = ap.parse_args(argv)
    if a.limit is not None and a.limit < 1 or a.pd_sentences < 1 or a.batch_size < 1:
        ap.error("--limit, --pd-sentences and --batch-size must be >= 1")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    from zhie.inference import Extractor

    extractor = Extractor.load(a.model, quantize=False, relations=False, values=False)  # fp32, as recorded
    names = ("cluener", "pd") if a.corpus == "both" else (a.corpus,)
    report = {"model": str(a.model or "bundled"), "model_version": extractor.model_version,
              "gold": "corpus annotations + pattern MONEY/DATE" if a.with_patterns else "corpus annotations only",
              "limit": a.limit, "corpora": {}}
    for name in names:
        docs, meta = load_cluener(a.with_patterns) if name == "cluener" else load_pd(a.pd_sentences, a.with_patterns)
        if a.limit:
            docs = docs[:a.limit]
            meta["slice"] += f"; first {len(docs)} only (--limit)"
        labels = CORPUS_LABELS[name] | (PATTERN_LABELS if a.with_patterns else frozenset())
        pred, seconds = predict(extractor, docs, a.batch_size, name, log)
        rep = report["corpora"][name] = score(name, docs, pred, labels, seconds, meta)
        print(table(rep), flush=True)
    if a.output:
        a.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        log(f"report written to {a.output}")


if __name__ == "__main__":
    main()
