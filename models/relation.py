"""The relation classifier: candidate (PROJECT, MONEY|LOC) pairs, their marked encoder input, the model.

One encoder input per pair: the sentences holding both mentions (and those between, at most
`MAX_SENTENCE_GAP` apart, the guide's neighbouring-sentence limit), with typed markers around head
and tail. The model is a plain `BertForTokenClassification` with 2 x 3 logits: the pair's scores are
the head-role logits at the head's start marker plus the tail-role logits at the tail's start marker
(a linear layer over the two marker states, as in "entity start" relation models, not [CLS]). So a
saved model loads with `AutoModelForTokenClassification` alone; markers and thresholds live in its
config under `zhie_relation`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForTokenClassification, BertConfig, BertForTokenClassification, PreTrainedModel

from zhie.annotation.labels import RELATION_LABELS, RELATION_TYPES
from zhie.annotation.records import Document, Entity, Relation
from zhie.models.tokenizer import encode_texts

NONE = "none"
CLASSES: tuple[str, ...] = (NONE,) + RELATION_LABELS            # none, project_amount, project_location
ROLE_LABELS = [f"{role}:{c}" for role in ("head", "tail") for c in CLASSES]
TAIL_LABEL_TO_RELATION = {tail: rel for rel, (_, tail) in RELATION_TYPES.items()}   # MONEY -> project_amount
HEAD_LABEL = "PROJECT"
# Typed markers from BERT's unused vocabulary entries: (start, end) per entity label.
MARKERS: dict[str, tuple[str, str]] = {"PROJECT": ("[unused1]", "[unused2]"), "MONEY": ("[unused3]", "[unused4]"),
                                       "LOC": ("[unused5]", "[unused6]")}
# A fresh model starts each marker from a bracket's embedding: the encoder already reads brackets as span edges.
MARKER_INIT: dict[str, tuple[str, str]] = {"PROJECT": ("《", "》"), "MONEY": ("【", "】"), "LOC": ("「", "」")}
MAX_SENTENCE_GAP = 1  # same sentence or adjacent sentences (ANNOTATION_GUIDE: relation labels)
DEFAULT_MAX_LEN = 256
CONFIG_KEY = "zhie_relation"

# A sentence ends after 。！？!? (repeats and closing quotes/brackets included) or a line break;
# the whitespace after it belongs to it, so a blank line is no sentence of its own.
_SENTENCE_END = re.compile(r"(?:[。！？!?]+[”’」』）)\"']*|\n)\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans [start, end) covering the whole text; the single definition used everywhere."""
    cuts = sorted({0, len(text), *(m.end() for m in _SENTENCE_END.finditer(text) if text[:m.start()].strip())})
    return list(zip(cuts, cuts[1:]))


def sentence_index(spans: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the sentence holding character `char`."""
    for i, (s, e) in enumerate(spans):
        if s <= char < e:
            return i
    raise ValueError(f"character {char} is outside the text")


@dataclass(frozen=True)
class Candidate:
    """A (PROJECT, MONEY|LOC) pair of one document and the character window that the encoder reads."""

    doc_index: int
    head: Entity
    tail: Entity
    window: tuple[int, int]

    @property
    def relation(self) -> str:
        """The only positive label this pair can take."""
        return TAIL_LABEL_TO_RELATION[self.tail.label]


def candidate_pairs(doc: Document, doc_index: int = 0, max_gap: int = MAX_SENTENCE_GAP) -> list[Candidate]:
    """Every PROJECT x MONEY and PROJECT x LOC pair at most `max_gap` sentences apart, in text order."""
    sents = split_sentences(doc.text)
    ents = doc.sorted_entities()
    heads = [e for e in ents if e.label == HEAD_LABEL]
    tails = [e for e in ents if e.label in TAIL_LABEL_TO_RELATION]
    out = []
    for h in heads:
        hs = sentence_index(sents, h.start)
        for t in tails:
            ts = sentence_index(sents, t.start)
            if abs(hs - ts) > max_gap:
                continue
            lo, hi = min(hs, ts), max(hs, ts)
            window = (min(sents[lo][0], h.start, t.start), max(sents[hi][1], h.end, t.end))
            out.append(Candidate(doc_index, h, t, window))
    return out


def marker_ids(tokenizer) -> dict[str, tuple[int, int]]:
    """Token ids of the typed markers; fails clearly on a vocabulary without them."""
    out = {}
    for label, pair in MARKERS.items():
        ids = tokenizer.convert_tokens_to_ids(list(pair))
        if tokenizer.unk_token_id in ids:
            raise ValueError(f"the tokenizer's vocabulary lacks the marker tokens {pair}")
        out[label] = tuple(ids)
    return out


def mark_tokens(ids: Sequence[int], offsets: Sequence[tuple[int, int]], head: tuple[int, int, str],
                tail: tuple[int, int, str], markers: dict[str, tuple[int, int]], cls_id: int, sep_id: int,
                max_len: int = DEFAULT_MAX_LEN) -> tuple[list[int], int, int]:
    """[CLS] window tokens with typed markers around head and tail [SEP], cut to `max_len`.

    `head`/`tail` are (start, end, label) in the same character coordinates as `offsets` (the
    tokenizer's char -> token mapping). A marker goes before the first token ending after the
    span's start and after the last token starting before its end, so spans that cut a word piece
    still get markers. Returns the ids and the positions of the head and tail start markers.
    """
    def token_span(s: int, e: int) -> tuple[int, int]:
        inside = [i for i, (ts, te) in enumerate(offsets) if te > s and ts < e and te > ts]
        if not inside:
            raise ValueError(f"span [{s},{e}) covers no token")
        return inside[0], inside[-1] + 1

    spans = sorted([(*token_span(head[0], head[1]), head[2], "head"), (*token_span(tail[0], tail[1]), tail[2], "tail")])
    budget = max_len - 6  # [CLS] [SEP] and four markers
    lo, hi = spans[0][0], spans[1][1]
    if hi - lo <= budget:   # keep the pair, spread the remaining budget over both sides
        extra = budget - (hi - lo)
        left = min(lo, extra // 2)
        right = min(len(ids) - hi, extra - left)
        left = min(lo, extra - right)
        keep = list(range(lo - left, hi + right))
    else:                    # mentions far apart: keep each one whole with equal context around it
        (s1, e1), (s2, e2) = spans[0][:2], spans[1][:2]
        room = max(0, budget - (e1 - s1) - (e2 - s2)) // 4
        keep = sorted(set(range(max(0, s1 - room), e1 + room)) | set(range(s2 - room, min(len(ids), e2 + room))))
    out, pos = [cls_id], {}
    for i in keep:
        for s, _, lab, role in spans:
            if s == i:
                pos[role] = len(out)
                out.append(markers[lab][0])
        out.append(ids[i])
        out += [markers[lab][1] for _, e, lab, _ in spans if e == i + 1]
    out.append(sep_id)
    if set(pos) != {"head", "tail"}:
        raise ValueError("a mention was cut out of its window")
    return out, pos["head"], pos["tail"]


def pair_fields(text: str, cand: Candidate) -> dict:
    """A candidate as plain fields (window text, spans relative to it): one row of a dataset."""
    w0, w1 = cand.window
    return {"text": text[w0:w1], "head_start": cand.head.start - w0, "head_end": cand.head.end - w0,
            "tail_start": cand.tail.start - w0, "tail_end": cand.tail.end - w0, "tail_label": cand.tail.label}


def encode_pairs(rows: dict[str, list], tokenizer, max_len: int = DEFAULT_MAX_LEN) -> dict[str, list]:
    """Batched `pair_fields` columns -> input_ids with markers and the marker positions (one tokenizer call)."""
    enc = encode_texts(tokenizer, rows["text"])
    marks = marker_ids(tokenizer)
    out: dict[str, list] = {"input_ids": [], "head_pos": [], "tail_pos": []}
    for i, (ids, offs) in enumerate(zip(enc["input_ids"], enc["offset_mapping"])):
        seq, hp, tp = mark_tokens(ids, offs, (rows["head_start"][i], rows["head_end"][i], HEAD_LABEL),
                                  (rows["tail_start"][i], rows["tail_end"][i], rows["tail_label"][i]),
                                  marks, tokenizer.cls_token_id, tokenizer.sep_token_id, max_len)
        out["input_ids"].append(seq)
        out["head_pos"].append(hp)
        out["tail_pos"].append(tp)
    return out


@torch.no_grad()
def init_marker_embeddings(model: PreTrainedModel, tokenizer) -> None:
    """Copy each bracket's input embedding (MARKER_INIT) into its marker's row."""
    emb = model.get_input_embeddings().weight
    for label, ids in marker_ids(tokenizer).items():
        for marker, source in zip(ids, tokenizer.convert_tokens_to_ids(list(MARKER_INIT[label]))):
            if source != tokenizer.unk_token_id:
                emb[marker] = emb[source]


def relation_config(thresholds: dict[str, float] | None = None, max_len: int = DEFAULT_MAX_LEN) -> dict:
    """What inference needs beyond the weights, stored in the model config."""
    return {"classes": list(CLASSES), "markers": {k: list(v) for k, v in MARKERS.items()},
            "max_sentence_gap": MAX_SENTENCE_GAP, "max_len": max_len,
            "thresholds": thresholds or {lab: 0.5 for lab in RELATION_LABELS}}


def build_relation_model(base: str | Path | BertConfig, max_len: int = DEFAULT_MAX_LEN,
                         num_layers: int | None = None) -> PreTrainedModel:
    """A fresh relation head on `base`: a checkpoint folder/name or a config (random init);
    `num_layers` keeps only the encoder's first layers (smaller and faster)."""
    labels = {"num_labels": len(ROLE_LABELS), "id2label": dict(enumerate(ROLE_LABELS)),
              "label2id": {lab: i for i, lab in enumerate(ROLE_LABELS)}, CONFIG_KEY: relation_config(max_len=max_len)}
    if isinstance(base, BertConfig):
        return BertForTokenClassification(BertConfig(**{**base.to_dict(), **labels}))
    config = AutoConfig.from_pretrained(str(base))
    if num_layers:
        if num_layers > config.num_hidden_layers:
            raise ValueError(f"{base} has {config.num_hidden_layers} layers, fewer than the {num_layers} asked for")
        labels["num_hidden_layers"] = num_layers
    for key, value in labels.items():
        setattr(config, key, value)
    return AutoModelForTokenClassification.from_pretrained(str(base), config=config, ignore_mismatched_sizes=True,
                                                           dtype=torch.float32)  # stored fp16 or not: train in fp32


def load_relation_model(path: str | Path) -> PreTrainedModel:
    """Load a saved relation model and check it predicts this project's relation classes."""
    model = AutoModelForTokenClassification.from_pretrained(str(path), dtype=torch.float32)
    cfg = getattr(model.config, CONFIG_KEY, None)
    if not cfg or cfg.get("classes") != list(CLASSES):
        raise ValueError(f"{path}: not a relation model for the classes {list(CLASSES)} (config.{CONFIG_KEY})")
    return model


def allowed_classes(tail_labels: Sequence[str]) -> torch.Tensor:
    """Boolean (pairs, classes) mask: none, or the one relation the pair's entity types allow."""
    mask = torch.zeros(len(tail_labels), len(CLASSES), dtype=torch.bool)
    mask[:, 0] = True
    for i, lab in enumerate(tail_labels):
        mask[i, CLASSES.index(TAIL_LABEL_TO_RELATION[lab])] = True
    return mask


def pair_logits(token_logits: torch.Tensor, head_pos: torch.Tensor, tail_pos: torch.Tensor,
                allowed: torch.Tensor) -> torch.Tensor:
    """(pairs, classes) logits: head-role logits at the head marker + tail-role logits at the tail
    marker; classes the entity types rule out get -inf."""
    rows = torch.arange(token_logits.shape[0], device=token_logits.device)
    k = len(CLASSES)
    logits = token_logits[rows, head_pos, :k] + token_logits[rows, tail_pos, k:]
    return logits.masked_fill(~allowed.to(logits.device), float("-inf"))


def collate(features: Sequence[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad encoded pairs into a batch; `labels` (class indices) when the features have them."""
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for r, f in enumerate(features):
        ids[r, :len(f["input_ids"])] = torch.tensor(f["input_ids"])
        mask[r, :len(f["input_ids"])] = 1
    batch = {"input_ids": ids, "attention_mask": mask,
             "head_pos": torch.tensor([f["head_pos"] for f in features]),
             "tail_pos": torch.tensor([f["tail_pos"] for f in features]),
             "allowed": allowed_classes([f["tail_label"] for f in features])}
    if "labels" in features[0]:
        batch["labels"] = torch.tensor([f["labels"] for f in features])
    return batch


def forward_pairs(model: PreTrainedModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(pairs, classes) type-constrained logits of a collated batch."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return pair_logits(out.logits.float(), batch["head_pos"], batch["tail_pos"], batch["allowed"])


@torch.inference_mode()
def relation_probs(model: PreTrainedModel, encoded: Sequence[dict], pad_id: int, batch_size: int = 32) -> list[float]:
    """For each encoded pair, the probability of the one relation its types allow (batched, shortest first)."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]["input_ids"]))
    probs = [0.0] * len(encoded)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        batch = collate([encoded[i] for i in idx], pad_id)
        p = torch.softmax(forward_pairs(model, batch), -1)
        positive = 1.0 - p[:, 0]  # the allowed relation's probability (all other classes are masked)
        for i, v in zip(idx, positive.tolist()):
            probs[i] = v
    return probs


def encode_candidates(docs: Sequence[Document], tokenizer, max_len: int = DEFAULT_MAX_LEN,
                      max_gap: int = MAX_SENTENCE_GAP) -> tuple[list[Candidate], list[dict]]:
    """All candidates of `docs` and their encoder inputs (as rows with `tail_label`)."""
    cands = [c for i, d in enumerate(docs) for c in candidate_pairs(d, i, max_gap)]
    if not cands:
        return [], []
    rows = [pair_fields(docs[c.doc_index].text, c) for c in cands]
    enc = encode_pairs({k: [r[k] for r in rows] for k in rows[0]}, tokenizer, max_len)
    encoded = [{"input_ids": enc["input_ids"][i], "head_pos": enc["head_pos"][i], "tail_pos": enc["tail_pos"][i],
                "tail_label": c.tail.label} for i, c in enumerate(cands)]
    return cands, encoded


def best_mention_only(cands: Sequence[Candidate], probs: Sequence[float]) -> list[float]:
    """A tail links at most one mention of a project name (the guide: link the mention next to which
    the amount or place is stated): the other mentions of that name get probability 0 for it."""
    best: dict[tuple, int] = {}
    for i, c in enumerate(cands):
        key = (c.doc_index, c.tail.id, c.head.text)
        if key not in best or probs[i] > probs[best[key]]:
            best[key] = i
    keep = set(best.values())
    return [p if i in keep else 0.0 for i, p in enumerate(probs)]


def with_relations(docs: Sequence[Document], cands: Sequence[Candidate], probs: Sequence[float],
                   thresholds: dict[str, float]) -> list[Document]:
    """Copies of `docs` whose relations are the candidates at or above their label's threshold, scored."""
    found: list[list[dict]] = [[] for _ in docs]
    for c, p in zip(cands, probs):
        if p >= thresholds[c.relation]:
            found[c.doc_index].append(Relation(head=c.head.id, tail=c.tail.id, label=c.relation, score=round(p, 4)))
    return [d.model_copy(update={"relations": rels}) for d, rels in zip(docs, found)]


def predict_relations(model: PreTrainedModel, tokenizer, docs: Sequence[Document], batch_size: int = 32,
                      thresholds: dict[str, float] | None = None) -> list[Document]:
    """Relations for documents that already hold entities (gold, corrected or predicted)."""
    cfg = getattr(model.config, CONFIG_KEY)
    cands, encoded = encode_candidates(docs, tokenizer, cfg["max_len"], cfg["max_sentence_gap"])
    probs = best_mention_only(cands, relation_probs(model, encoded, tokenizer.pad_token_id, batch_size))
    return with_relations(docs, cands, probs, thresholds or cfg["thresholds"])
