"""Relation P/R/F1 per label, the model beside the nearest-project rule, on the same documents:

  (a) given entities: the gold entities of each record, relations predicted from them;
  (b) end to end: entities predicted by the NER model, then relations; scored with strict spans
      (a relation counts only when both of its entities match gold exactly).

  python benchmarks/relation_eval.py [--split dev] [--model DIR] [--re-model DIR] [-o report.json]

--model is a NER model folder (default: the bundled one); its relations are those `Extractor.load`
gives it: the shared head saved beside its weights, or the marker model of --re-model.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.inference import Extractor  # noqa: E402
from zhie.training.data_specs import load_source  # noqa: E402
from zhie.training.metrics import evaluate_documents  # noqa: E402
from zhie.training.relation_baseline import nearest_project_all  # noqa: E402

ROWS = ("project_amount", "project_location", "micro avg")


def relation_scores(gold, pred) -> dict:
    return evaluate_documents(gold, pred)["relations"]


def evaluate(split: str, model: Path | None, re_model: Path | None) -> dict:
    gold = load_source(split)
    given = [d.model_copy(update={"relations": []}) for d in gold]
    ex = Extractor.load(model, quantize=False, relations=re_model, values=False)  # fp32, as recorded
    if ex.relations is None:
        raise SystemExit(f"{model or 'the bundled model'} has no relation head and no --re-model was given")
    predicted = ex.predict_documents(given)
    entities_only = [d.model_copy(update={"relations": [], "projects": None}) for d in predicted]
    return {
        "split": split, "documents": len(gold), "model": str(model or "bundled"),
        "relations": type(ex.relations).__name__ + (f" {re_model}" if re_model else " (shared head)"),
        "given_entities": {"model": relation_scores(gold, [ex.predict_relations(d) for d in given]),
                           "nearest_project_rule": relation_scores(gold, nearest_project_all(given))},
        "end_to_end": {"model": relation_scores(gold, predicted),
                       "nearest_project_rule": relation_scores(gold, nearest_project_all(entities_only)),
                       "ner_entities_micro_f1": evaluate_documents(gold, predicted)["entities"]["micro avg"]["f1-score"]},
    }


def table(rep: dict) -> str:
    lines = [f"{rep['split']} ({rep['documents']} articles)",
             f"{'setting':<16}{'method':<22}" + "".join(f"{r:>20}" for r in ROWS), " " * 38 + "   P / R / F1" * 3]
    for setting in ("given_entities", "end_to_end"):
        for method in ("model", "nearest_project_rule"):
            s = rep[setting][method]
            cells = "".join(f"{s[r]['precision']:>8.3f}{s[r]['recall']:>6.3f}{s[r]['f1-score']:>6.3f}"
                            if r in s else f"{'-':>20}" for r in ROWS)
            lines.append(f"{setting:<16}{method:<22}{cells}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev", help="news split (train/dev/test) or a canonical JSONL file")
    ap.add_argument("--model", type=Path, default=None, help="NER model folder; default: the bundled one")
    ap.add_argument("--re-model", type=Path, default=None, help="a marker relation model folder instead of the shared head")
    ap.add_argument("-o", "--output", type=Path, help="write the report as JSON here")
    a = ap.parse_args()
    spec = a.split if a.split.endswith(".jsonl") else f"news:{a.split}"
    rep = evaluate(spec, a.model, a.re_model)
    print(table(rep))
    if a.output:
        a.output.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
