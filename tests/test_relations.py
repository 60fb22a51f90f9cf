"""Relation classifier: candidates within the sentence limit, marker encoding, training, tagging, the rule."""
from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForTokenClassification, BertConfig, BertModel

from zhie.annotation.records import Document
from zhie.inference.relations import RelationTagger
from zhie.models.relation import (CLASSES, CONFIG_KEY, MARKERS, allowed_classes, best_mention_only, candidate_pairs,
                                  encode_candidates, pair_logits, split_sentences)
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.relation_baseline import nearest_project
from zhie.training.train_re import ReRunConfig, choose_thresholds, sample_epochs, train_re


def make_doc(text: str, spans: list[tuple[str, str]], relations: list[tuple[int, int, str]] = (), id: str = "d") -> Document:
    """Entities found by their first occurrence after the previous one (written texts, no repeats needed)."""
    ents, pos = [], 0
    for i, (s, label) in enumerate(spans):
        start = text.index(s, pos)
        ents.append({"id": f"e{i}", "start": start, "end": start + len(s), "label": label, "text": s})
        pos = start + len(s)
    rels = [{"head": f"e{h}", "tail": f"e{t}", "label": lab} for h, t, lab in relations]
    return Document(id=id, text=text, entities=ents, relations=rels)


def test_sentences_cover_the_text_and_keep_closing_quotes():
    text = "他说：“项目已签约。”随后开工！第二期？\n第三句"
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    assert [text[s:e] for s, e in spans] == ["他说：“项目已签约。”", "随后开工！", "第二期？\n", "第三句"]


def test_candidates_are_project_pairs_within_neighbouring_sentences():
    text = "甲项目签约。乙基地落户重庆，投资6亿元。公司在成都。第四句提到西安。"
    doc = make_doc(text, [("甲项目", "PROJECT"), ("乙基地", "PROJECT"), ("重庆", "LOC"), ("6亿元", "MONEY"),
                          ("公司", "ORG"), ("成都", "LOC"), ("西安", "LOC")])
    got = {(c.head.text, c.tail.text) for c in candidate_pairs(doc)}
    # 甲项目 (sentence 0) reaches sentence 1 only; 乙基地 (sentence 1) reaches 0-2; nothing reaches 西安 (3)
    assert got == {("甲项目", "重庆"), ("甲项目", "6亿元"), ("乙基地", "重庆"), ("乙基地", "6亿元"), ("乙基地", "成都")}
    far = next(c for c in candidate_pairs(doc) if c.head.text == "甲项目" and c.tail.text == "6亿元")
    assert text[far.window[0]:far.window[1]] == "甲项目签约。乙基地落户重庆，投资6亿元。"
    assert far.relation == "project_amount"
    assert candidate_pairs(doc, max_gap=0) and all(c.head.text == "乙基地" for c in candidate_pairs(doc, max_gap=0))


def _between_markers(tokens: list[str], start_marker: str, end_marker: str) -> str:
    i, j = tokens.index(start_marker), tokens.index(end_marker)
    return "".join(t.removeprefix("##") for t in tokens[i + 1:j])


def test_markers_wrap_exactly_the_mentions_with_nfkc_and_word_pieces():
    text = "ＡＢＣ新材料产业园落户宜宾市，总投资１２.５亿元。"
    doc = make_doc(text, [("ＡＢＣ新材料产业园", "PROJECT"), ("宜宾市", "LOC"), ("１２.５亿元", "MONEY")])
    tok = tokenizer_from_vocab()
    cands, encoded = encode_candidates([doc], tok)
    assert len(cands) == 2
    for c, e in zip(cands, encoded):
        tokens = tok.convert_ids_to_tokens(e["input_ids"])
        assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
        assert tokens[e["head_pos"]] == MARKERS["PROJECT"][0] and tokens[e["tail_pos"]] == MARKERS[c.tail.label][0]
        assert _between_markers(tokens, *MARKERS["PROJECT"]) == "abc新材料产业园"
        assert _between_markers(tokens, *MARKERS[c.tail.label]) == {"LOC": "宜宾市", "MONEY": "12.5亿元"}[c.tail.label]


def test_long_windows_are_cut_to_max_len_keeping_both_mentions():
    filler = "，".join(["这是一段很长的背景说明文字"] * 12)
    text = f"丙项目签约{filler}，总投资8亿元。"
    doc = make_doc(text, [("丙项目", "PROJECT"), ("8亿元", "MONEY")])
    tok = tokenizer_from_vocab()
    for max_len in (32, 64):
        (_, e), = zip(*encode_candidates([doc], tok, max_len=max_len))
        tokens = tok.convert_ids_to_tokens(e["input_ids"])
        assert len(tokens) <= max_len
        assert _between_markers(tokens, *MARKERS["PROJECT"]) == "丙项目"
        assert _between_markers(tokens, *MARKERS["MONEY"]) == "8亿元"


def test_types_constrain_the_classes():
    logits = torch.randn(2, 5, 2 * len(CLASSES))
    out = pair_logits(logits, torch.tensor([0, 1]), torch.tensor([2, 3]), allowed_classes(["MONEY", "LOC"]))
    p = torch.softmax(out, -1)
    assert p[0, CLASSES.index("project_location")] == 0 and p[1, CLASSES.index("project_amount")] == 0
    assert torch.allclose(p.sum(-1), torch.ones(2))


def test_a_tail_links_only_the_best_mention_of_a_project_name():
    doc = make_doc("己项目开工。己项目总投资3亿元，庚项目总投资3亿元。",
                   [("己项目", "PROJECT"), ("己项目", "PROJECT"), ("3亿元", "MONEY"), ("庚项目", "PROJECT"), ("3亿元", "MONEY")])
    cands = candidate_pairs(doc)
    given = {("e0", "e2"): 0.6, ("e1", "e2"): 0.95, ("e0", "e4"): 0.7, ("e1", "e4"): 0.5, ("e3", "e2"): 0.8,
             ("e3", "e4"): 0.8}
    assert {(c.head.id, c.tail.id) for c in cands} == set(given)
    probs = best_mention_only(cands, [given[(c.head.id, c.tail.id)] for c in cands])
    kept = {(c.head.id, c.tail.id) for c, p in zip(cands, probs) if p > 0}
    assert kept == {("e1", "e2"), ("e0", "e4"), ("e3", "e2"), ("e3", "e4")}  # 庚项目 is another name: untouched


def test_thresholds_maximise_dev_f1():
    doc = make_doc("丁项目在A市，戊项目在B市。", [("丁项目", "PROJECT"), ("A市", "LOC"), ("戊项目", "PROJECT"), ("B市", "LOC")],
                   [(0, 1, "project_location"), (2, 3, "project_location")])
    cands = candidate_pairs(doc)
    probs = [0.9 if (c.head.id, c.tail.id) in {("e0", "e1"), ("e2", "e3")} else 0.3 for c in cands]
    th = choose_thresholds(cands, probs, [doc])
    assert 0.3 < th["project_location"] < 0.9


def test_each_epoch_keeps_every_link_and_draws_fresh_negatives():
    labels = [1, 2] + [0] * 20
    order = sample_epochs(labels, epochs=3, negatives_per_positive=2.0, seed=1)
    epochs = [order[i * 6:(i + 1) * 6] for i in range(3)]
    assert len(order) == 18
    assert all({0, 1} <= set(e) and sum(labels[i] == 0 for i in e) == 4 for e in epochs)
    assert len({i for e in epochs for i in e if labels[i] == 0}) > 4  # not the same negatives each time
    assert len(sample_epochs(labels, epochs=1.5, negatives_per_positive=None, seed=1)) == 22 + 11


# Two projects per article: the one in the amount's and place's sentence is linked, the other is not.
TRAIN = [("欧林研究院", "6亿元", "重庆", "光伏"), ("新材料产业园", "12亿元", "成都", "风电"),
         ("储能电站", "3亿元", "西安", "物流"), ("芯片工厂", "50亿元", "合肥", "冷链")]


def _article(i: int, project: str, money: str, place: str, other: str) -> Document:
    text = f"{other}项目签约。{project}落户{place}，总投资{money}。"
    return make_doc(text, [(other + "项目", "PROJECT"), (project, "PROJECT"), (place, "LOC"), (money, "MONEY")],
                    [(1, 2, "project_location"), (1, 3, "project_amount")], id=f"a{i}")


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny-bert")
    BertModel(BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=128)).save_pretrained(base)
    tokenizer_from_vocab().save_pretrained(base)
    out = tmp_path_factory.mktemp("re")
    docs = [_article(i, *t) for i, t in enumerate(TRAIN)]
    metrics = train_re(docs * 8, docs, ReRunConfig(output=out, base_model=str(base), max_steps=80, batch_size=8,
                                                   lr=3e-3, max_len=64, logging_steps=40,
                                                   export_fp16=out / "fp16"))
    assert metrics["dev"]["model"]["micro avg"]["f1-score"] == 1.0
    assert (out / "run_config.json").exists() and (out / "dev_report.json").exists()
    return out


def test_saved_model_loads_with_auto_class_alone(trained_dir):
    model = AutoModelForTokenClassification.from_pretrained(trained_dir)
    cfg = getattr(model.config, CONFIG_KEY)
    assert cfg["classes"] == list(CLASSES) and set(cfg["thresholds"]) == {"project_amount", "project_location"}
    assert model.config.num_labels == 2 * len(CLASSES)


def test_tagger_predicts_type_correct_scored_relations(trained_dir):
    tagger = RelationTagger.load(trained_dir)
    assert tagger.model_dir == trained_dir
    doc = _article(9, "新材料产业园", "12亿元", "成都", "光伏")  # a training pattern, gold links removed
    (pred,) = tagger.predict([doc.model_copy(update={"relations": []})], batch_size=2)
    by_id = {e.id: e for e in pred.entities}
    assert {(r.head, r.tail, r.label) for r in pred.relations} == {(r.head, r.tail, r.label) for r in doc.relations}
    for r in pred.relations:
        assert by_id[r.head].label == "PROJECT" and 0 < r.score <= 1
        assert (by_id[r.tail].label, r.label) in {("MONEY", "project_amount"), ("LOC", "project_location")}
    empty = Document(id="x", text="没有实体。")
    assert tagger.predict([empty]) == [empty]
    small = RelationTagger.load(trained_dir / "fp16")  # the bundled form: fp16 on disk, fp32 in memory
    assert next(small.model.parameters()).dtype == torch.float32
    assert [r.label for r in small.predict([doc])[0].relations] == [r.label for r in pred.relations]


def test_rule_links_each_tail_to_the_nearest_project_of_its_sentence():
    doc = make_doc("甲项目和乙项目落户重庆。丙项目另计，投资2亿元。合肥很美。",
                   [("甲项目", "PROJECT"), ("乙项目", "PROJECT"), ("重庆", "LOC"), ("丙项目", "PROJECT"),
                    ("2亿元", "MONEY"), ("合肥", "LOC")])
    got = {(r.head, r.tail, r.label) for r in nearest_project(doc).relations}
    assert got == {("e1", "e2", "project_location"), ("e3", "e4", "project_amount")}  # 合肥: no PROJECT beside it
