"""Traditional articles are read as Simplified (one character for one) on every path into an encoder:
the same token ids, the same predictions, offsets into the original text; Simplified text untouched."""
import numpy as np

from zhie.annotation.records import Document, Entity
from zhie.inference import Extractor
from zhie.models.simplified import is_traditional, to_simplified
from zhie.models.tokenizer import encode_texts, tokenizer_from_vocab
from zhie.training.data import tokenise_documents

TRADITIONAL = "臺灣和諧光電科技項目落戶泉州臺商投資區，總投資五點七億美元，著名企業覆蓋兩岸。"
SIMPLIFIED = "台湾和谐光电科技项目落户泉州台商投资区，总投资五点七亿美元，著名企业覆盖两岸。"


def test_traditional_text_maps_character_for_character_and_simplified_text_is_left_alone():
    assert is_traditional(TRADITIONAL) and to_simplified(TRADITIONAL) == SIMPLIFIED
    assert not is_traditional(SIMPLIFIED) and to_simplified(SIMPLIFIED) == SIMPLIFIED
    # a Simplified article with a stray Traditional character (a quoted name) is not a Traditional text
    mixed = "广东省与香港“東”字号企业签约，项目总投资20亿元，落户广州市南沙区。"
    assert to_simplified(mixed) == mixed
    # characters Simplified writing keeps for its own words stay, even in a Traditional text
    assert "著名" in to_simplified(TRADITIONAL) and "覆盖" in to_simplified(TRADITIONAL)
    assert to_simplified("") == ""


def test_encoders_read_the_simplified_twin_with_offsets_into_the_original():
    tok = tokenizer_from_vocab()
    trad, simp = encode_texts(tok, [TRADITIONAL, SIMPLIFIED])["input_ids"]
    plain = tok(TRADITIONAL, add_special_tokens=False)["input_ids"]
    assert trad == simp and trad != plain   # without the map the Traditional characters are other tokens
    offsets = encode_texts(tok, [TRADITIONAL])["offset_mapping"][0]
    assert [TRADITIONAL[s:e] for s, e in offsets] == list(TRADITIONAL)   # one token per character here
    # training windows see the same ids as inference
    tags = [Entity(id="T1", label="PROJECT", start=0, end=10, text=TRADITIONAL[:10])]
    (window,) = tokenise_documents([Document(id="a", text=TRADITIONAL, entities=tags)], tok, max_len=128)
    (twin,) = tokenise_documents([Document(id="b", text=SIMPLIFIED, entities=[t.model_copy(update={"text": SIMPLIFIED[:10]}) for t in tags])],
                                 tok, max_len=128)
    assert window["input_ids"] == twin["input_ids"] and window["labels"] == twin["labels"]


def test_the_extractor_gives_a_traditional_article_what_it_gives_its_simplified_twin(tiny_ner_model_dir):
    ex = Extractor.load(tiny_ner_model_dir, relations=False, values=False)
    trad, simp = ex.ner.encode([TRADITIONAL, SIMPLIFIED])
    assert trad.offsets == simp.offsets and np.allclose(trad.probs, simp.probs)
    (doc,) = ex.predict_batch([TRADITIONAL])
    assert doc.text == TRADITIONAL and all(e.text == TRADITIONAL[e.start:e.end] for e in doc.entities)
