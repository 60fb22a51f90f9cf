from hypothesis import given, settings, strategies as st

from zhie.annotation.bio import TagSequenceError, from_tags, spans_from_tags, to_tags
from zhie.annotation.labels import ENTITY_LABELS
from zhie.annotation.records import Document, Entity

ALPHABET = list("重庆市沙坪坝区欧林生物投资亿元年月日，。（）,():ＡＢ１２ abcXYZ0123456789\n😀🎉　") + ["  "]


@st.composite
def documents(draw):
    text = "".join(draw(st.lists(st.sampled_from(ALPHABET), min_size=0, max_size=60)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=12))))
    ents, n = [], 0
    for s, e in zip(cuts[::2], cuts[1::2]):
        if e > s:
            n += 1
            ents.append(Entity(id=f"e{n}", start=s, end=e, label=draw(st.sampled_from(ENTITY_LABELS)), text=text[s:e]))
    return Document(id="d", text=text, entities=ents)


@settings(max_examples=300)
@given(documents())
def test_record_to_tags_to_record_is_identity(doc):
    tags = to_tags(doc)
    assert len(tags) == len(doc.text)
    assert from_tags(doc.id, doc.text, tags) == doc


def test_adjacent_entities_of_the_same_label_stay_apart():
    doc = Document(id="d", text="重庆成都", entities=[
        Entity(id="e1", start=0, end=2, label="LOC", text="重庆"),
        Entity(id="e2", start=2, end=4, label="LOC", text="成都")])
    assert to_tags(doc) == ["B-LOC", "I-LOC", "B-LOC", "I-LOC"]
    assert from_tags("d", doc.text, to_tags(doc)) == doc


def test_strict_decoding_rejects_orphan_inside_tags_lenient_starts_a_span():
    tags = ["O", "I-ORG", "I-ORG", "B-LOC", "I-DATE"]
    try:
        spans_from_tags(tags)
        raise AssertionError("strict decoding accepted an orphan I- tag")
    except TagSequenceError as exc:
        assert "position 1" in str(exc)
    assert spans_from_tags(tags, strict=False) == [(1, 3, "ORG"), (3, 4, "LOC"), (4, 5, "DATE")]
