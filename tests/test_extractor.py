import pytest

from zhie.annotation.records import Document
from zhie.inference import Extractor, ModelNotFoundError
from zhie.inference.decode import line_breaks, token_spans, viterbi
from zhie.annotation.labels import BIO_TAGS, TAG2ID

import numpy as np

TRICKY = "２０２４年，ＡＢ公司 在  重庆😀投资6亿元。\n第二段: abc (half-width) 与（全角）标点。"


def test_predictions_are_valid_records_indexing_the_original_text(tiny_ner_model_dir):
    ex = Extractor.load(tiny_ner_model_dir)
    recs = ex.predict_batch([TRICKY, "短", TRICKY * 40], pub_dates=["2024-11-10", None, None], ids=["a", "b", "c"])
    assert [r.id for r in recs] == ["a", "b", "c"]
    assert recs[0].pub_date == "2024-11-10"
    for doc, text in zip(recs, [TRICKY, "短", TRICKY * 40]):
        assert isinstance(doc, Document) and doc.text == text
        for e in doc.entities:
            assert text[e.start:e.end] == e.text and 0 <= e.score <= 1


def test_long_text_is_the_same_as_windows_of_it(tiny_ner_model_dir):
    """A text longer than one window is covered completely: every token gets a prediction."""
    ex = Extractor.load(tiny_ner_model_dir, window=16, stride=8)
    long = TRICKY * 5
    ids = ex.tokenizer(long, add_special_tokens=False)["input_ids"]
    probs = ex.ner.token_outputs([ids])[0][0]
    assert probs.shape[0] == len(ids) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_missing_model_gives_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no NER model found at"):
        Extractor.load(tmp_path / "nowhere")


def test_viterbi_never_starts_an_entity_with_inside_tag():
    probs = np.full((3, len(BIO_TAGS)), 0.01)
    probs[0, TAG2ID["I-ORG"]] = 0.9   # arg-max would give an orphan I-ORG
    probs[0, TAG2ID["B-ORG"]] = 0.5
    probs[1, TAG2ID["I-ORG"]] = 0.9
    probs[2, TAG2ID["O"]] = 0.9
    path = [BIO_TAGS[k] for k in viterbi(probs / probs.sum(1, keepdims=True))]
    assert path == ["B-ORG", "I-ORG", "O"]
    assert [s[:3] for s in token_spans(probs / probs.sum(1, keepdims=True))] == [(0, 2, "ORG")]


def test_no_entity_crosses_a_line_break():
    text = "投资3.7亿元\n2.项目"
    offsets = [(0, 1), (1, 2), (2, 5), (5, 6), (6, 7), (8, 9), (9, 10), (10, 11), (11, 12)]  # 投 资 3.7 亿 元 | 2 . 项 目
    breaks = line_breaks(text, offsets)
    assert breaks.tolist() == [False] * 5 + [True] + [False] * 3
    probs = np.full((len(offsets), len(BIO_TAGS)), 0.01)
    for i, tag in enumerate(["O", "O", "B-MONEY", "I-MONEY", "I-MONEY", "I-MONEY", "I-MONEY", "O", "O"]):
        probs[i, TAG2ID[tag]] = 0.9   # the model runs the amount on into the next line's list number
    probs[5:7, TAG2ID["O"]] = 0.5   # where O is the runner-up: after the break the list number is left out
    probs /= probs.sum(1, keepdims=True)
    assert [s[:3] for s in token_spans(probs)] == [(2, 7, "MONEY")]
    assert [s[:3] for s in token_spans(probs, breaks=breaks)] == [(2, 5, "MONEY")]   # 3.7亿元, the line ends it


def test_the_extractor_ends_entities_at_line_breaks(tiny_ner_model_dir):
    ex = Extractor.load(tiny_ner_model_dir, relations=False, values=False)
    text = "总投资3.7亿元\n\n2.新建厂房"
    n = len(ex.tokenizer(text, add_special_tokens=False)["input_ids"])
    probs = np.full((n, len(BIO_TAGS)), 0.01)
    probs[:, TAG2ID["I-MONEY"]] = 0.9
    probs[0, TAG2ID["B-MONEY"]] = 1.0   # one MONEY tag run over the whole text, line break included
    probs /= probs.sum(1, keepdims=True)
    ex.ner.token_outputs = lambda ids, hidden=False, types=None: [(probs, None)]
    (doc,) = ex.predict_batch([text])
    assert doc.entities and all("\n" not in e.text for e in doc.entities)
    assert doc.entities[0].text == "总投资3.7亿元"
