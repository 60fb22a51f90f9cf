"""Lexicon features: word-boundary and gazetteer types per character, carried as token types from
training windows to the Extractor and ONNX, in a model folder that loads on its own."""
import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig
from typer.testing import CliRunner

from test_train_ner import DOCS
from zhie.cli import app
from zhie.models.lexicon import (CLASSES, CONFIG_KEY, NUM_TYPES, SEGMENT_TAGS, add_lexicon_types, default_lexicon,
                                 uses_lexicon)
from zhie.models.ner import build_ner_model
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.data import tokenise_documents

TINY = BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64)


def _decode(types: np.ndarray) -> list[tuple[str, str]]:
    """(segment tag, class) per character."""
    return [(SEGMENT_TAGS[(t - 1) % len(SEGMENT_TAGS)], CLASSES[(t - 1) // len(SEGMENT_TAGS)]) for t in types]


def test_characters_get_word_positions_and_gazetteer_classes_and_traditional_text_the_same():
    lex = default_lexicon()
    text = "广西壮族自治区与南宁市人民政府签约，项目落户南宁。"
    tags = _decode(lex.char_types(text))
    assert len(tags) == len(text) and all(1 <= t < NUM_TYPES for t in lex.char_types(text))
    seg = "".join(s for s, _ in tags)
    assert seg[:7] == "BMMMMME" and {c for _, c in tags[:7]} == {"LOC"}   # a division name, one word
    assert tags[text.index("南宁市")][1] == "LOC" and tags[text.index("签")][1] == "none"
    assert tags[-1] == ("S", "none")
    # every word opens with B (or is S) and closes with E: a valid segmentation
    words = seg.replace("S", " S ").replace("E", "E ").split()
    assert all(w == "S" or (w[0] == "B" and w[-1] == "E" and set(w[1:-1]) <= {"M"}) for w in words)
    traditional = "廣西壯族自治區與南寧市人民政府簽約，項目落戶南寧。"
    assert np.array_equal(lex.char_types(traditional), lex.char_types(text))
    assert len(lex.char_types("")) == 0


def test_new_token_types_start_as_the_old_one_and_the_folder_loads_alone(tmp_path):
    torch.manual_seed(0)
    model = build_ner_model(TINY).eval()
    ids = torch.tensor([[101, 872, 1962, 102]])
    before = model(input_ids=ids).logits
    add_lexicon_types(model)
    assert model.config.type_vocab_size == NUM_TYPES and uses_lexicon(model.config)
    types = torch.tensor([[0, 5, NUM_TYPES - 1, 0]])
    assert torch.allclose(model(input_ids=ids, token_type_ids=types).logits, before, atol=1e-6)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForTokenClassification.from_pretrained(tmp_path)
    assert loaded.bert.embeddings.token_type_embeddings.num_embeddings == NUM_TYPES and uses_lexicon(loaded.config)
    future = dict(getattr(loaded.config, CONFIG_KEY), version=99)
    setattr(loaded.config, CONFIG_KEY, future)
    with pytest.raises(ValueError, match="version 99"):
        uses_lexicon(loaded.config)


def test_training_windows_carry_the_types_aligned_with_tokens():
    tok = tokenizer_from_vocab()
    doc = DOCS[0]
    (plain,) = tokenise_documents([doc], tok, max_len=64)
    (ex,) = tokenise_documents([doc], tok, max_len=64, lexicon=True)
    assert "token_type_ids" not in plain and ex["input_ids"] == plain["input_ids"]
    types = ex["token_type_ids"]
    assert len(types) == len(ex["input_ids"]) and types[0] == types[-1] == 0
    want = default_lexicon().char_types(doc.text)
    assert types[1:-1] == [int(t) for t in want]   # one character per token here
    short = tokenise_documents([doc], tok, max_len=6, lexicon=True)   # several windows, each aligned
    assert [t for w in short for t in w["token_type_ids"][1:-1]][:4] == [int(t) for t in want[:4]]


def test_a_lexicon_model_trains_from_the_cli_and_predicts_with_features_in_torch_and_onnx(tmp_path):
    lines = [json.dumps({"id": d.id, "text": d.text, "entities": [e.model_dump(exclude_none=True) for e in d.entities]},
                        ensure_ascii=False) for d in DOCS]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ner"
    r = CliRunner().invoke(app, ["train", "ner", "--lexicon", "--crf", "--data", str(tmp_path / "d.jsonl"), "--dev",
                                 "none", "--base-model", "random:small", "--max-steps", "3", "--batch-size", "2",
                                 "--max-len", "32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "run_config.json").read_text(encoding="utf-8"))["lexicon"] is True
    model = AutoModelForTokenClassification.from_pretrained(out)
    rows = model.bert.embeddings.token_type_embeddings.weight
    assert uses_lexicon(model.config) and not torch.allclose(rows[1], rows[4])   # the feature rows trained apart
    from zhie.inference import Extractor

    ex = Extractor.load(out, quantize=False, relations=False, values=False)  # fp32, as the fp32 export below
    assert ex.ner.lexicon is not None
    text = "重庆新建项目总投资6亿元。"
    enc = ex.tokenizer([text], add_special_tokens=False, return_offsets_mapping=True)
    with_types = ex.ner.token_outputs(enc["input_ids"], types_per_text=ex.ner.lexicon.token_types([text],
                                                                                               enc["offset_mapping"]))
    without = ex.ner.token_outputs(enc["input_ids"])
    assert not np.allclose(with_types[0][0], without[0][0])   # the features reach the encoder
    got = ex.ner.encode([text])[0].probs
    assert np.allclose(got, with_types[0][0])
    pytest.importorskip("onnxruntime")
    from zhie.inference.onnx_export import export_onnx

    export_onnx(out, int8=False)
    onnx = Extractor.load(out, backend="onnx", relations=False, values=False)
    assert np.allclose(onnx.ner.encode([text])[0].probs, got, atol=1e-4)
