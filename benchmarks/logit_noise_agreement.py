"""How close must a student's logits be to its teacher's to reproduce 99 % of the teacher's entities?

Issue 12 asks a distilled student to reproduce >= 99 % of its teacher's entities. This measures how fragile
the teacher's entities are: it adds Gaussian noise of standard deviation `--sigma` to every tag logit of every
token (after the encoder, before the constrained Viterbi pass that inference runs) and counts the entities that
survive. Each `--student` is then placed on the same scale: the root mean square of its per-token logit error
against the teacher, with each token's error centred over the tags (a constant added to all the tags of a
token changes no decoded path), beside the share of the teacher's entities it reproduces.

    python benchmarks/logit_noise_agreement.py runs/eval/heldout-xwlb.jsonl \
        --student models/weights/ner-fast --student models/weights/ner:int8 -o noise.json

A `:int8` suffix runs that model with dynamic int8 (as `zhie predict` does by default). The teacher is the
bundled default in fp32 unless `--teacher` says otherwise. Input: a JSONL file of records with "id" and "text".
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zhie.annotation.records import Document
from zhie.inference.extractor import DEFAULT_MODEL_DIR, Extractor
from zhie.inference.ner import NerTagger, TokenStates
from zhie.training.distil import teacher_agreement


class NoisyBackend:
    """A token backend whose tag logits get i.i.d. Gaussian noise (log-probabilities + noise, re-normalised)."""

    def __init__(self, inner, sigma: float, seed: int) -> None:
        self.inner, self.sigma, self.rng = inner, sigma, np.random.default_rng(seed)
        self.name, self.num_labels, self.hidden_size = f"{inner.name}+noise", inner.num_labels, inner.hidden_size
        self.scales_per_call = getattr(inner, "scales_per_call", False)

    def token_outputs(self, input_ids, attention_mask, hidden=False, token_type_ids=None):
        probs, states = self.inner.token_outputs(input_ids, attention_mask, hidden, token_type_ids)
        noisy = np.log(np.clip(probs, 1e-9, 1.0)) + self.rng.normal(0.0, self.sigma, probs.shape)
        noisy = np.exp(noisy - noisy.max(-1, keepdims=True))
        return (noisy / noisy.sum(-1, keepdims=True)).astype(np.float32), states


def tagger(spec: str) -> NerTagger:
    """`DIR` (fp32) or `DIR:int8`: the model's NER stage as inference builds it."""
    path, _, mode = spec.partition(":")
    if mode not in ("", "int8"):
        raise SystemExit(f"{spec}: the only suffix is :int8")
    return Extractor.load(path, quantize=mode == "int8", relations=False, values=False).ner


def centred_log_probs(states: Sequence[TokenStates]) -> list[np.ndarray]:
    """Per text, (tokens x tags) log-probabilities minus each token's mean over the tags."""
    out = []
    for st in states:
        logp = np.log(np.clip(st.probs.astype(np.float64), 1e-9, 1.0))
        out.append(logp - logp.mean(-1, keepdims=True))
    return out


def tag(ner: NerTagger, docs: Sequence[Document]) -> tuple[list[Document], list[np.ndarray]]:
    """One encoder pass: the entities decoded from it and its centred log-probabilities."""
    states = ner.encode([d.text for d in docs])
    return ner.decode(docs, states), centred_log_probs(states)


def logit_error(teacher: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> dict:
    """RMS of the centred logit difference, and the share of tokens whose best tag differs."""
    diff = np.concatenate([o - t for t, o in zip(teacher, other, strict=True)])
    flips = np.concatenate([o.argmax(-1) != t.argmax(-1) for t, o in zip(teacher, other, strict=True)])
    return {"rms": round(float(np.sqrt((diff ** 2).mean())), 4), "best_tag_differs": round(float(flips.mean()), 4),
            "tokens": int(len(flips))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path, help="JSONL records with id and text")
    ap.add_argument("--teacher", default=str(DEFAULT_MODEL_DIR))
    ap.add_argument("--student", action="append", default=[], help="a model folder, DIR:int8 for dynamic int8")
    ap.add_argument("--sigma", type=float, nargs="*", default=[0.05, 0.1, 0.2, 0.3, 0.5])
    ap.add_argument("--seeds", type=int, default=3, help="noise draws per sigma")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args()
    with args.input.open(encoding="utf-8") as f:
        docs = [Document(id=r["id"], text=r["text"]) for r in map(json.loads, f)]
    teacher = tagger(args.teacher)
    reference, base = tag(teacher, docs)
    n = sum(len(d.entities) for d in reference)
    print(f"{len(docs)} texts, {n} teacher entities ({args.teacher}, fp32)")
    result: dict = {"input": str(args.input), "teacher": args.teacher, "texts": len(docs), "teacher_entities": n,
                    "noise": [], "students": []}
    inner = teacher.backend
    for sigma in args.sigma:
        runs = []
        for seed in range(args.seeds):
            teacher.backend = NoisyBackend(inner, sigma, seed)
            noisy, logp = tag(teacher, docs)
            runs.append((teacher_agreement(reference, noisy), logit_error(base, logp)))
        teacher.backend = inner
        shares = [a["all"]["reproduced"] for a, _ in runs]
        row = {"sigma": sigma, "reproduced": shares, "mean": round(float(np.mean(shares)), 4),
               "per_label": {lab: round(float(np.mean([a[lab]["reproduced"] for a, _ in runs])), 4)
                             for lab in runs[0][0] if lab != "all"},
               **{k: round(float(np.mean([e[k] for _, e in runs])), 4) for k in ("rms", "best_tag_differs")}}
        result["noise"].append(row)
        print(f"noise sigma {sigma:<5} centred rms {row['rms']:.3f}  best tag differs {row['best_tag_differs']:.2%}  "
              f"entities reproduced {row['mean']:.2%} ({' '.join(f'{s:.2%}' for s in shares)})")
    for spec in args.student:
        predicted, logp = tag(tagger(spec), docs)
        agreement, error = teacher_agreement(reference, predicted), logit_error(base, logp)
        result["students"].append({"model": spec, **error, "reproduced": agreement["all"]["reproduced"],
                                   "per_label": {k: v["reproduced"] for k, v in agreement.items() if k != "all"}})
        print(f"{spec:<32} centred rms {error['rms']:.3f}  best tag differs {error['best_tag_differs']:.2%}  "
              f"entities reproduced {agreement['all']['reproduced']:.2%}")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
