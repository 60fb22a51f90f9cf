"""Entity and relation F1 of Traditional and Simplified articles apart, with and without reading
Traditional text as Simplified (zhie.models.simplified), for one model on one split.

  python benchmarks/traditional_eval.py [--split dev] [--model DIR] [-o report.json]

An article counts as Traditional when `is_traditional` says so (the same test the pipeline applies).
"Without the map" is the pipeline as it was before the map (same weights, no training): the encoder and
the relation cue words read Traditional characters as written; the lexicon features, which mapped them
already then, still do.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zhie.inference import Extractor  # noqa: E402
from zhie.models import pair_head, simplified, tokenizer  # noqa: E402
from zhie.training.data_specs import load_source  # noqa: E402
from zhie.training.metrics import evaluate_documents  # noqa: E402


def scores(gold, pred, given) -> dict:
    rep = evaluate_documents(gold, pred)
    return {"entities": {k: round(v["f1-score"], 4) for k, v in rep["entities"].items() if k != "weighted avg"},
            "relations_end_to_end": round(rep["relations"]["micro avg"]["f1-score"], 4),
            "relations_given_entities": round(evaluate_documents(gold, given)["relations"]["micro avg"]["f1-score"], 4),
            "relations": sum(len(d.relations) for d in gold)}


def evaluate(spec: str, model: Path | None) -> dict:
    gold = load_source(spec)
    groups = {"traditional": [g for g in gold if simplified.is_traditional(g.text)]}
    groups["simplified"] = [g for g in gold if not simplified.is_traditional(g.text)]
    ex = Extractor.load(model, quantize=False, values=False)  # fp32, as recorded
    report: dict = {"split": spec, "model": str(model or "bundled"),
                    "articles": {k: len(v) for k, v in groups.items()},
                    "characters": {k: sum(len(g.text) for g in v) for k, v in groups.items()}}
    mapped = simplified.to_simplified
    for setting, read in (("without_map", lambda text: text), ("with_map", mapped)):
        tokenizer.to_simplified = pair_head.to_simplified = read  # what the encoder and the cue words read
        report[setting] = {}
        for name, docs in groups.items():
            pred = ex.predict_documents([d.model_copy(update={"entities": [], "relations": []}) for d in docs])
            given = [ex.predict_relations(d.model_copy(update={"relations": []})) for d in docs]
            report[setting][name] = scores(docs, pred, given)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev", help="news split (train/dev/test) or a canonical JSONL file")
    ap.add_argument("--model", type=Path, default=None, help="NER model folder; default: the bundled one")
    ap.add_argument("-o", "--output", type=Path, help="write the report as JSON here")
    a = ap.parse_args()
    rep = evaluate(a.split if a.split.endswith(".jsonl") else f"news:{a.split}", a.model)
    print(f"{rep['split']}: {rep['articles']}")
    for setting in ("without_map", "with_map"):
        for name in ("traditional", "simplified"):
            s = rep[setting][name]
            print(f"{setting:<12} {name:<12} entities micro {s['entities']['micro avg']:.3f}  PROJECT "
                  f"{s['entities'].get('PROJECT', 0):.3f}  relations ({s['relations']}) given entities "
                  f"{s['relations_given_entities']:.3f}, end to end {s['relations_end_to_end']:.3f}")
    if a.output:
        a.output.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
