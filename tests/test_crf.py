"""The optional CRF layer: loss over each window's labelled tokens only, transitions saved in the model
config, and decoding (inference and training's dev score) that uses them without breaking IOB2."""
import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig
from typer.testing import CliRunner

from test_train_ner import DOCS
from zhie.annotation.labels import BIO_TAGS, TAG2ID
from zhie.cli import app
from zhie.inference.decode import token_spans, viterbi
from zhie.models.crf import ALLOWED, CONFIG_KEY, FORBIDDEN, START_OK, Transitions
from zhie.models.ner import crf_transitions
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.crf import IobCrf, compact, crf_loss
from zhie.training.data import IGNORE, tokenise_documents
from zhie.training.run_config import NerRunConfig
from zhie.training.train_ner import _compute_metrics, train_ner

X = IGNORE
TINY = BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=64, max_position_embeddings=64)


def _t(*tags: str) -> list[int]:
    return [TAG2ID[t] for t in tags]


def _is_iob2(path: list[int]) -> bool:
    return START_OK[path[0]] and all(ALLOWED[a, b] for a, b in zip(path, path[1:]))


def test_compact_keeps_only_labelled_tokens_left_aligned_and_repairs_unopened_inside_tags():
    labels = torch.tensor([
        [X, *_t("B-LOC", "I-LOC", "O"), X, X],      # [CLS] ... [SEP] padding
        [X, X, *_t("O", "I-DATE", "I-DATE"), X],    # score-once window: kept range starts later
        [X, X, X, X, X, X],                          # a window with nothing to score
        [X, *_t("I-ORG"), X, X, X, X],               # a word piece straddling an entity start
    ])
    logits = torch.arange(labels.numel() * len(BIO_TAGS), dtype=torch.float).reshape(*labels.shape, -1)
    emissions, tags, mask = compact(logits, labels)
    assert mask.tolist() == [[True] * 3, [True] * 3, [True, False, False]]
    assert tags.tolist() == [_t("B-LOC", "I-LOC", "O"), _t("O", "B-DATE", "I-DATE"), _t("B-ORG", "O", "O")]
    assert torch.equal(emissions[0], logits[0, 1:4]) and torch.equal(emissions[1], logits[1, 2:5])
    assert torch.equal(emissions[2, 0], logits[3, 1])
    with pytest.raises(ValueError, match="contiguous"):
        compact(logits[:1], torch.tensor([[X, *_t("O"), X, *_t("O"), X, X]]))


def test_training_and_dev_windows_label_one_contiguous_run_each():
    tok = tokenizer_from_vocab()
    doc = DOCS[0].model_copy(update={"id": "long", "text": "".join(d.text for d in DOCS), "entities": []})
    for score_once in (False, True):
        for w in tokenise_documents([doc], tok, max_len=13, score_once=score_once):
            pos = [i for i, label in enumerate(w["labels"]) if label != IGNORE]
            assert pos and pos == list(range(pos[0], pos[-1] + 1))


def test_loss_is_the_crf_likelihood_of_the_labelled_tokens_only():
    torch.manual_seed(0)
    crf = IobCrf()
    logits = torch.randn(1, 5, len(BIO_TAGS))
    gold = _t("B-LOC", "I-LOC", "O")
    loss = crf_loss(crf, logits, torch.tensor([[X, *gold, X]]))
    whole = torch.ones(1, 3, dtype=torch.bool)
    assert torch.allclose(loss, -crf(logits[:, 1:4], torch.tensor([gold]), mask=whole, reduction="token_mean"))
    padded = torch.cat([logits, torch.randn(1, 3, len(BIO_TAGS))], dim=1)  # padding changes nothing
    assert torch.allclose(crf_loss(crf, padded, torch.tensor([[X, *gold, X, X, X, X]])), loss)


def test_learned_transitions_decode_like_the_crf_over_logits_and_flip_an_ambiguous_token():
    rng = np.random.default_rng(0)
    learned = Transitions(*(np.where(ok, rng.normal(size=ok.shape) * 2, FORBIDDEN)
                            for ok in (START_OK, np.ones(len(BIO_TAGS), bool), ALLOWED)))
    crf = IobCrf(learned)
    for _ in range(20):
        logits = rng.normal(size=(7, len(BIO_TAGS))) * 2
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        path = viterbi(probs, learned)
        emissions = torch.tensor(logits[None], dtype=torch.float)
        assert path == crf.decode(emissions, mask=torch.ones(1, 7, dtype=torch.bool))[0] and _is_iob2(path)
    # 成都 then a token that is a little more O than I-LOC
    probs = np.full((3, len(BIO_TAGS)), 0.01)
    probs[0, TAG2ID["B-LOC"]], probs[1, TAG2ID["O"]], probs[1, TAG2ID["I-LOC"]], probs[2, TAG2ID["O"]] = .9, .5, .4, .9
    probs /= probs.sum(axis=1, keepdims=True)
    assert [s[:3] for s in token_spans(probs)] == [(0, 1, "LOC")]
    favour = Transitions.initial()
    favour.matrix[TAG2ID["B-LOC"], TAG2ID["I-LOC"]] = 2.0
    assert [s[:3] for s in token_spans(probs, favour)] == [(0, 2, "LOC")]


def test_forbidden_moves_are_never_decoded_whatever_the_learned_scores():
    rng = np.random.default_rng(1)
    tempting = Transitions(np.full(len(BIO_TAGS), 50.0), np.zeros(len(BIO_TAGS)), np.where(ALLOWED, 0.0, 50.0))
    for _ in range(50):
        probs = rng.dirichlet(np.full(len(BIO_TAGS), 0.3), size=int(rng.integers(1, 12)))
        assert _is_iob2(viterbi(probs, tempting))


def test_dev_score_decodes_with_the_transitions_when_given():
    logits = np.full((1, 4, len(BIO_TAGS)), -5.0)
    for i, tag in enumerate(("O", "B-LOC", "O", "O")):
        logits[0, i, TAG2ID[tag]] = 2.0
    logits[0, 2, TAG2ID["I-LOC"]] = 1.5  # nearly as likely as O
    labels = np.array([[X, *_t("B-LOC", "I-LOC"), X]])
    favour = Transitions.initial()
    favour.matrix[TAG2ID["B-LOC"], TAG2ID["I-LOC"]] = 2.0
    assert _compute_metrics((logits, labels))["f1"] == 0.0  # arg-max: the entity ends too soon
    assert _compute_metrics((logits, labels), transitions=lambda: favour)["f1"] == 1.0


def test_cli_trains_a_crf_whose_folder_loads_alone_and_carries_the_transitions(tmp_path):
    lines = [json.dumps({"id": d.id, "text": d.text, "entities": [e.model_dump(exclude_none=True) for e in d.entities]},
                        ensure_ascii=False) for d in DOCS]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "ner"
    r = CliRunner().invoke(app, ["train", "ner", "--crf", "--data", str(tmp_path / "d.jsonl"), "--dev",
                                 str(tmp_path / "d.jsonl"), "--base-model", "random:small", "--max-steps", "3",
                                 "--batch-size", "2", "--max-len", "32", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "run_config.json").read_text(encoding="utf-8"))["crf"] is True
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert type(model).__name__ == "BertForTokenClassification" and not hasattr(model, "crf")
    learned = crf_transitions(model.config)
    assert learned is not None and not np.array_equal(learned.matrix, Transitions.initial().matrix)  # it trained
    assert (learned.matrix[~ALLOWED] == FORBIDDEN).all() and (learned.start[~START_OK] == FORBIDDEN).all()
    assert "f1" in json.loads((out / "train_metrics.json").read_text(encoding="utf-8"))["dev_token_level"]
    from zhie.inference import Extractor

    tagger = Extractor.load(out, relations=False, values=False).ner  # what zhie predict decodes with
    assert tagger.transitions is not None and np.array_equal(tagger.transitions.matrix, learned.matrix)


def test_resume_restores_the_transitions_and_a_later_run_continues_or_drops_them(tmp_path):
    out = tmp_path / "crf"
    run = NerRunConfig(output=out, max_steps=2, batch_size=4, lr=3e-3, max_len=16, logging_steps=1, crf=True)
    train_ner(DOCS, None, run, encoder=TINY)
    first = crf_transitions(AutoModelForTokenClassification.from_pretrained(out).config)
    # resuming at the checkpoint's last step trains nothing: the saved transitions are the checkpoint's
    train_ner(DOCS, None, run.model_copy(update={"resume": True}), encoder=TINY)
    resumed = crf_transitions(AutoModelForTokenClassification.from_pretrained(out).config)
    assert np.array_equal(resumed.matrix, first.matrix) and np.array_equal(resumed.end, first.end)
    # a CRF run from this model starts from its transitions (lr 0: nothing moves); a plain run drops them
    train_ner(DOCS, None, run.model_copy(update={"output": tmp_path / "again", "base_model": str(out), "lr": 0.0,
                                                 "max_steps": 1}))
    again = crf_transitions(AutoModelForTokenClassification.from_pretrained(tmp_path / "again").config)
    assert np.allclose(again.matrix, first.matrix)
    train_ner(DOCS, None, run.model_copy(update={"output": tmp_path / "plain", "base_model": str(out),
                                                 "crf": False, "max_steps": 1}))
    plain = AutoModelForTokenClassification.from_pretrained(tmp_path / "plain").config
    assert crf_transitions(plain) is None and not hasattr(plain, CONFIG_KEY)


def test_batched_viterbi_gives_each_text_its_own_path():
    """Texts of different lengths, with and without line breaks and learned transitions, decoded together
    give exactly the paths (and spans) they get one by one."""
    from zhie.inference.decode import token_spans_batch
    from zhie.models.crf import viterbi_batch

    rng = np.random.default_rng(7)
    n = len(BIO_TAGS)
    learned = Transitions(rng.normal(size=n), rng.normal(size=n), rng.normal(size=(n, n)) * 2)
    probs = [rng.dirichlet(np.full(n, 0.3), size=k).astype(np.float32) for k in (1, 7, 0, 30, 12)]
    breaks = [rng.random(len(p)) < 0.2 for p in probs]
    breaks[1] = None
    for transitions in (None, learned):
        for brk in (None, breaks):
            alone = [viterbi(p, transitions, None if brk is None else brk[i]) for i, p in enumerate(probs)]
            assert viterbi_batch(probs, transitions, brk) == alone
    assert any(len(set(path)) > 2 for path in alone)  # the random paths do carry entities
    assert token_spans_batch(probs, learned, breaks) == [
        token_spans(p, learned, b) for p, b in zip(probs, breaks)]
    assert viterbi_batch([], learned) == [] and viterbi_batch([probs[2]]) == [[]]
