"""Training really learns: a tiny model fitted on a handful of written sentences finds their entities."""
from transformers import BertConfig

from zhie.annotation.records import Document, Entity
from zhie.inference import Extractor
from zhie.models.tokenizer import tokenizer_from_vocab
from zhie.training.data import IGNORE, tokenise_documents
from zhie.training.run_config import NerRunConfig
from zhie.training.train_ner import train_ner

from zhie.annotation.labels import TAG2ID


def _doc(i: int, place: str, money: str) -> Document:
    text = f"{place}新建项目总投资{money}。"
    s = len(place) + len("新建项目总投资")
    return Document(id=f"t{i}", text=text, entities=[
        Entity(id="e1", start=0, end=len(place), label="LOC", text=place),
        Entity(id="e2", start=s, end=s + len(money), label="MONEY", text=money)])


DOCS = [_doc(i, p, m) for i, (p, m) in enumerate(
    [("重庆", "6亿元"), ("成都", "12亿元"), ("郑州", "3000万元"), ("西安", "8.5亿元"), ("南京", "20亿元"), ("长沙", "9亿元")])]


def test_windows_align_tags_with_tokens_and_restart_entities():
    tok = tokenizer_from_vocab()
    doc = _doc(0, "重庆", "6亿元")
    (ex,) = tokenise_documents([doc], tok, max_len=64)
    assert ex["labels"][0] == IGNORE and ex["labels"][-1] == IGNORE
    assert ex["labels"][1:3] == [TAG2ID["B-LOC"], TAG2ID["I-LOC"]]
    windows = tokenise_documents([doc], tok, max_len=4)   # 2 tokens per window: 重庆 | 新建 | ...
    assert all(len(w["input_ids"]) <= 4 for w in windows)
    assert windows[0]["labels"][1:3] == [TAG2ID["B-LOC"], TAG2ID["I-LOC"]]
    money_start = [w for w in windows if TAG2ID["B-MONEY"] in w["labels"]]
    assert money_start, "a window beginning inside MONEY must start it with B-MONEY"


def test_tiny_model_learns_the_training_sentences(tmp_path):
    cfg = BertConfig(vocab_size=21128, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=64)
    out = tmp_path / "ner"
    run = NerRunConfig(output=out, max_steps=150, batch_size=8, lr=3e-3, max_len=64, logging_steps=50)
    metrics = train_ner(DOCS * 8, DOCS, run, encoder=cfg)
    assert metrics["dev_token_level"]["f1"] > 0.9
    rec = Extractor.load(out).predict("成都新建项目总投资12亿元。")
    assert [(e.text, e.label) for e in rec.entities] == [("成都", "LOC"), ("12亿元", "MONEY")]


def test_windows_are_the_extractors_and_dev_windows_score_each_token_once():
    from zhie.models.windows import make_windows

    tok = tokenizer_from_vocab()
    doc = Document(id="long", text="".join(d.text for d in DOCS))  # 6 sentences, no entities needed
    n = len(tok(doc.text, add_special_tokens=False)["input_ids"])
    train = tokenise_documents([doc], tok, max_len=13)
    expected = make_windows(n, 11, 11)
    assert len(train) == len(expected) and n % 11  # the last window overlaps the one before
    assert [len(w["input_ids"]) - 2 for w in train] == [w.end - w.start for w in expected]
    dev = tokenise_documents([doc], tok, max_len=13, score_once=True)
    assert sum(label != IGNORE for w in dev for label in w["labels"]) == n
    assert sum(label != IGNORE for w in train for label in w["labels"]) > n
