"""The predict API: text in, canonical record (plus scores) out, offsets into the original text."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from zhie.annotation.records import Document
from zhie.inference.decode import token_spans
from zhie.models.windows import make_windows
from zhie.models.ner import load_ner_model
from zhie.models.tokenizer import load_tokenizer

DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "weights" / "ner"


class ModelNotFoundError(FileNotFoundError):
    """No model at the given path (or no bundled default)."""


class Extractor:
    """Runs the NER model over texts of any length in overlapping windows of tokens."""

    def __init__(self, model: torch.nn.Module, tokenizer, model_version: str,
                 window: int = 254, stride: int = 192, batch_size: int = 16) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_version = model_version
        self.window, self.stride, self.batch_size = window, stride, batch_size

    @classmethod
    def load(cls, path: str | Path | None = None, quantize: bool = False, **kwargs) -> "Extractor":
        """Load a saved NER model folder; `None` loads the bundled default model.

        quantize: dynamic int8 for nn.Linear layers (faster on CPU).
        """
        model_dir = Path(path) if path is not None else DEFAULT_MODEL_DIR
        if not (model_dir / "config.json").exists():
            hint = " (the bundled default model is missing: run `make model`)" if path is None else ""
            raise ModelNotFoundError(f"no model found at {model_dir}{hint}")
        model = load_ner_model(model_dir)
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        digest = hashlib.sha256((model_dir / "config.json").read_bytes())
        for f in sorted(model_dir.glob("*.safetensors")):
            digest.update(f.stat().st_size.to_bytes(8, "little"))
        version = f"{model_dir.name}-{digest.hexdigest()[:8]}" + ("-int8" if quantize else "")
        return cls(model, load_tokenizer(model_dir), version, **kwargs)

    def predict(self, text: str, pub_date: str | None = None, id: str | None = None) -> dict:
        return self.predict_batch([text], [pub_date], [id] if id is not None else None)[0]

    def predict_batch(self, texts: Sequence[str], pub_dates: Sequence[str | None] | None = None,
                      ids: Sequence[str | None] | None = None) -> list[dict]:
        """Predict many texts at once; windows from all texts share batches."""
        if pub_dates is not None and len(pub_dates) != len(texts):
            raise ValueError(f"{len(pub_dates)} pub_dates for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        enc = self.tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
        probs = self._token_probs(enc["input_ids"])
        out = []
        for i, text in enumerate(texts):
            offsets = enc["offset_mapping"][i]
            ents = []
            for s, e, label, score in token_spans(probs[i]):
                cs, ce = offsets[s][0], offsets[e - 1][1]
                ents.append({"id": f"e{len(ents) + 1}", "label": label, "start": cs, "end": ce,
                             "text": text[cs:ce], "score": round(score, 4)})
            rid = (ids[i] if ids is not None else None) or f"doc-{i + 1}"
            rec = {"id": rid, "text": text, "entities": ents, "relations": []}
            if pub_dates is not None and pub_dates[i]:
                rec["pub_date"] = pub_dates[i]
            Document.model_validate(rec)  # the output contract: always a valid canonical record
            out.append(rec)
        return out

    @torch.inference_mode()
    def _token_probs(self, ids_per_text: list[list[int]]) -> list[np.ndarray]:
        tok = self.tokenizer
        n_tags = self.model.config.num_labels
        result = [np.zeros((len(ids), n_tags), dtype=np.float32) for ids in ids_per_text]
        jobs = [(i, w) for i, ids in enumerate(ids_per_text)
                for w in make_windows(len(ids), self.window, self.stride) if len(ids)]
        jobs.sort(key=lambda j: j[1].end - j[1].start)  # similar lengths share a batch: less padding
        for b in range(0, len(jobs), self.batch_size):
            batch = jobs[b:b + self.batch_size]
            seqs = [[tok.cls_token_id] + ids_per_text[i][w.start:w.end] + [tok.sep_token_id] for i, w in batch]
            width = max(len(s) for s in seqs)
            input_ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):
                input_ids[r, :len(s)] = torch.tensor(s)
                mask[r, :len(s)] = 1
            p = torch.softmax(self.model(input_ids=input_ids, attention_mask=mask).logits.float(), -1).numpy()
            for r, (i, w) in enumerate(batch):
                lo, hi = w.keep_from - w.start, w.keep_to - w.start
                result[i][w.keep_from:w.keep_to] = p[r, 1 + lo:1 + hi]
        return result


class Predictor(Protocol):
    """What callers need of an Extractor (tests and servers may pass a stand-in)."""

    model_version: str

    def predict_batch(self, texts: list[str], pub_dates: list[str | None] | None = None) -> list[dict]: ...


def predict_documents(predictor: Predictor, docs: Sequence[Document], batch_size: int = 32) -> list[Document]:
    """Predicted records for `docs`, keeping each record's id (and passing pub_date when known)."""
    out: list[Document] = []
    for i in range(0, len(docs), batch_size):
        batch = docs[i:i + batch_size]
        dates = [(d.model_extra or {}).get("pub_date") for d in batch]
        raw = predictor.predict_batch([d.text for d in batch], pub_dates=dates if any(dates) else None)
        if len(raw) != len(batch):
            raise RuntimeError(f"the model returned {len(raw)} predictions for {len(batch)} texts")
        out += [Document.model_validate({**p, "id": d.id, "text": d.text}) for d, p in zip(batch, raw, strict=True)]
    return out
