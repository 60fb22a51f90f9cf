"""The shared-encoder relation head: trained on a NER model's frozen states, saved beside its weights,
run by the Extractor from the NER pass's own states."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from transformers import AutoModelForTokenClassification

from zhie.inference import Extractor
from zhie.inference.relations import SharedRelationTagger
from zhie.models.pair_head import (CUES, HEAD_CONFIG, HEAD_FILE, has_pair_head, pair_inputs, tail_groups, tail_probs,
                                   token_span)
from zhie.models.relation import candidate_pairs
from zhie.models.relation_cues import WORD_CUES
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.train_relation_head import HeadRunConfig, train_relation_head
from test_relations import TRAIN, _article, make_doc


def test_pair_inputs_read_the_mentions_tokens_and_cues():
    doc = make_doc("光伏项目签约。储能电站落户西安，总投资3亿元。", [("光伏项目", "PROJECT"), ("储能电站", "PROJECT"),
                                                       ("西安", "LOC"), ("3亿元", "MONEY")])
    tok = tokenizer_from_vocab()
    offsets = tok(doc.text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    import torch

    hidden = torch.arange(len(offsets), dtype=torch.float32)[:, None].repeat(1, 4)  # state of token i = i
    cands = candidate_pairs(doc)
    vectors, cues = pair_inputs(hidden, offsets, doc, cands)
    assert vectors.shape == (len(cands), 6 * 4) and cues.shape == (len(cands), len(CUES))
    c = next(i for i, c in enumerate(cands) if c.head.text == "储能电站" and c.tail.text == "西安")
    h0, h1 = token_span(offsets, cands[c].head.start, cands[c].head.end)
    assert vectors[c, 0].item() == h0 and vectors[c, 4].item() == h1  # the head's first and last token states
    same_sentence, projects_between, project_rank = cues[c, 1].item(), cues[c, 3].item(), cues[c, 5].item()
    assert (same_sentence, projects_between, project_rank) == (1, 0, 0)
    far = next(i for i, c in enumerate(cands) if c.head.text == "光伏项目" and c.tail.text == "3亿元")
    assert cues[far, 1].item() == 0 and cues[far, 3].item() == 1 and cues[far, 5].item() == 1
    # the guide's cue words, each in its region of the text
    word = {name: cues[:, len(CUES) - len(WORD_CUES) + k] for k, name in enumerate(WORD_CUES)}
    assert word["locate_near"][c].item() == 1 and word["sign_near"][c].item() == 0  # 储能电站落户西安
    signed = next(i for i, c in enumerate(cands) if c.head.text == "光伏项目" and c.tail.text == "西安")
    assert word["sign_near"][signed].item() == 1  # 光伏项目签约
    amount = next(i for i, c in enumerate(cands) if c.head.text == "储能电站" and c.tail.text == "3亿元")
    assert word["invested_before_tail"][amount].item() == 1 and word["not_invested_before_tail"][amount].item() == 0
    # a Traditional article gets the cues of its Simplified twin (the cue words are Simplified)
    trad = make_doc("光伏項目簽約。儲能電站落戶西安，總投資3億元。", [("光伏項目", "PROJECT"), ("儲能電站", "PROJECT"),
                                                        ("西安", "LOC"), ("3億元", "MONEY")])
    assert torch.equal(pair_inputs(hidden, offsets, trad, candidate_pairs(trad))[1], cues)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=30), st.integers(0, 40), st.integers(1, 6))
def test_token_span_is_the_first_and_last_token_overlapping_the_characters(steps, start, length):
    """Offsets as a tokenizer gives them (in order; empty for special tokens, shared when NFKC splits one
    character): the vectorised lookup against a plain scan."""
    offsets, pos = [], 0
    for gap, width in steps:
        pos += gap
        offsets.append((pos, pos + width))
        pos += width
    inside = [i for i, (s, e) in enumerate(offsets) if e > start and s < start + length and e > s]
    if inside:
        assert token_span(offsets, start, start + length) == (inside[0], inside[-1])
    else:
        with pytest.raises(ValueError, match="covers no token"):
            token_span(offsets, start, start + length)


def test_projects_compete_for_a_tail():
    doc = make_doc("甲项目和乙项目在西安，总投资3亿元。", [("甲项目", "PROJECT"), ("乙项目", "PROJECT"),
                                                 ("西安", "LOC"), ("3亿元", "MONEY")])
    cands = candidate_pairs(doc)
    group, slot = tail_groups(cands)
    assert len(set(group.tolist())) == 2  # one choice per tail, between the two projects
    import torch

    logits = torch.tensor([[0.0, 2.0, float("-inf")]] * len(cands))  # every pair alone: relation at p = 0.88
    probs = tail_probs(logits, group, slot)
    for g in set(group.tolist()):
        assert abs(probs[group == g].sum().item() - 2 * 7.389 / (1 + 2 * 7.389)) < 1e-3  # share; rest is "none"
    assert torch.allclose(probs, torch.full_like(probs, 7.389 / (1 + 2 * 7.389)), atol=1e-3)


@pytest.fixture(scope="module")
def joint_dir(tiny_ner_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ner-re")
    docs = [_article(i, *t) for i, t in enumerate(TRAIN)]
    metrics = train_relation_head(docs * 8, docs, HeadRunConfig(output=out, ner_model=tiny_ner_model_dir, epochs=20,
                                                                batch_size=8, lr=1e-2, logging_steps=100))
    assert metrics["dev"]["model"]["micro avg"]["f1-score"] == 1.0  # learnt: link the project of the same sentence
    assert metrics["train"]["linked"] == 2 * 4 * 8
    return out


def test_output_is_the_ner_model_plus_the_head(joint_dir, tiny_ner_model_dir):
    assert has_pair_head(joint_dir) and not has_pair_head(tiny_ner_model_dir)
    assert (joint_dir / HEAD_FILE).stat().st_size > 0 and (joint_dir / HEAD_CONFIG).exists()
    assert (joint_dir / "relation_head_run_config.json").exists() and (joint_dir / "relation_dev_report.json").exists()
    model = AutoModelForTokenClassification.from_pretrained(joint_dir)  # the NER model still loads alone
    assert model.config.num_labels == 11
    assert not (joint_dir / "cache").exists() and not (joint_dir / "checkpoints").exists()


def test_extractor_runs_the_head_on_the_ner_pass_states(joint_dir):
    ex = Extractor.load(joint_dir, values=False)
    assert isinstance(ex.relations, SharedRelationTagger) and ex.ner.keep_hidden
    doc = _article(9, "新材料产业园", "12亿元", "成都", "光伏")
    given = ex.predict_relations(doc.model_copy(update={"relations": []}))  # entities given: one encoder pass
    assert {(r.head, r.tail, r.label) for r in given.relations} == {(r.head, r.tail, r.label) for r in doc.relations}
    assert all(0 < r.score <= 1 for r in given.relations)
    # end to end the states come from the NER pass; on the entities it found they give the same links as a fresh pass
    (pred,) = ex.predict_batch([doc.text])
    again = ex.predict_relations(pred.model_copy(update={"relations": [], "projects": None}))
    assert [(r.head, r.tail, r.score) for r in pred.relations] == [(r.head, r.tail, r.score) for r in again.relations]
    assert ex.ner._last is None  # the kept states were handed over and dropped
    assert Extractor.load(joint_dir, relations=False, values=False).relations is None


def test_model_version_changes_with_the_head(joint_dir, tiny_ner_model_dir):
    assert Extractor.load(joint_dir, quantize=False).model_version.split("-")[-1] != \
        Extractor.load(tiny_ner_model_dir, quantize=False, relations=False).model_version.split("-")[-1]


def test_cli_trains_a_head_in_place_without_dev(tiny_ner_model_dir, tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from zhie.cli import app

    model = tmp_path / "ner"
    shutil.copytree(tiny_ner_model_dir, model)
    weights = {p.name: p.read_bytes() for p in model.glob("*.safetensors")}
    data = tmp_path / "d.jsonl"
    data.write_text("".join(_article(i, *t).model_dump_json() + "\n" for i, t in enumerate(TRAIN)), encoding="utf-8")
    r = CliRunner().invoke(app, ["train", "re-head", "--ner-model", str(model), "-o", str(model), "--data", str(data),
                                 "--dev", "none", "--epochs", "1", "--choice-weight", "0"])
    assert r.exit_code == 0, r.output
    assert {p.name: p.read_bytes() for p in model.glob("*.safetensors") if p.name != HEAD_FILE} == weights
    assert json.loads((model / HEAD_CONFIG).read_text(encoding="utf-8"))["thresholds"] == \
        {"project_amount": 0.5, "project_location": 0.5}  # no dev: no tuned thresholds
    assert json.loads((model / "relation_head_run_config.json").read_text(encoding="utf-8"))["choice_weight"] == 0
    assert isinstance(Extractor.load(model).relations, SharedRelationTagger)


def test_fixed_thresholds_replace_the_dev_choice(tiny_ner_model_dir, tmp_path):
    """A final run on train+dev cannot choose thresholds on dev: its config names them, and they are kept."""
    import json

    import pydantic
    from typer.testing import CliRunner

    from zhie.cli import app

    data = tmp_path / "d.jsonl"
    data.write_text("".join(_article(i, *t).model_dump_json() + "\n" for i, t in enumerate(TRAIN)), encoding="utf-8")
    config = tmp_path / "head.toml"
    config.write_text(f'ner_model = "{tiny_ner_model_dir}"\noutput = "{tmp_path / "out"}"\ndata = ["{data}"]\n'
                      f'dev = "none"\nepochs = 1.0\nthresholds = {{project_amount = 0.3, project_location = 0.6}}\n',
                      encoding="utf-8")
    r = CliRunner().invoke(app, ["train", "re-head", "--config", str(config)])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "out" / HEAD_CONFIG).read_text(encoding="utf-8"))["thresholds"] == \
        {"project_amount": 0.3, "project_location": 0.6}
    with pytest.raises(pydantic.ValidationError, match="project_location"):
        HeadRunConfig(thresholds={"project_amount": 0.3})
    with pytest.raises(pydantic.ValidationError, match="in \\(0, 1\\)"):
        HeadRunConfig(thresholds={"project_amount": 0.3, "project_location": 1.5})


def test_choice_loss_rewards_the_gold_project_of_a_tail():
    import torch

    from zhie.training.train_relation_head import _HeadForTraining

    class Fixed(torch.nn.Module):  # a head whose logits are given: the loss alone is under test
        def __init__(self, logits: torch.Tensor) -> None:
            super().__init__()
            self.logits = logits

        def forward(self, vectors, cues):
            return self.logits

    # one tail (group 0) with two candidate projects; the second is gold
    group, slot = torch.tensor([0, 0]), torch.tensor([0, 1])
    allowed = torch.tensor([[True, True, False]] * 2)
    labels = torch.tensor([0, 1])
    losses = {}
    for name, rel in {"gold_high": [-2.0, 2.0], "wrong_high": [2.0, -2.0]}.items():
        logits = torch.tensor([[0.0, r, 0.0] for r in rel])
        model = _HeadForTraining(Fixed(logits), torch.ones(3), choice_weight=1.0)
        losses[name] = model(None, None, allowed, group, slot, labels)["loss"].item()
    assert losses["gold_high"] < losses["wrong_high"]
    # a tail without a gold project: the loss wants "no project", i.e. low scores everywhere
    none = torch.tensor([0, 0])
    low = _HeadForTraining(Fixed(torch.tensor([[0.0, -3.0, 0.0]] * 2)), torch.ones(3), 1.0)
    high = _HeadForTraining(Fixed(torch.tensor([[0.0, 3.0, 0.0]] * 2)), torch.ones(3), 1.0)
    assert low(None, None, allowed, group, slot, none)["loss"] < high(None, None, allowed, group, slot, none)["loss"]
