"""Normalised values: a table of short phrases written for this test, documents, and garbage."""
from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from zhie.annotation.jsonl import read_documents, write_jsonl
from zhie.annotation.records import Document, Entity
from zhie.annotation.values import DateValue, LocValue, MoneyValue
from zhie.inference.values import date_value, loc_value, money_value, normalise_values
from zhie.training.paths import SHARED

YI, WAN = 100_000_000, 10_000
PUB = "2024-11-10"

# span, text before, text after -> (amount, currency, approximate, range) or None
MONEY = [
    ("6亿元", "", "", (6 * YI, "CNY", False, None)),
    ("35.7亿元", "", "", (35.7 * YI, "CNY", False, None)),
    ("5500万元", "", "", (5500 * WAN, "CNY", False, None)),
    ("3千万元", "", "", (3000 * WAN, "CNY", False, None)),
    ("1.2万亿元", "", "", (1.2e12, "CNY", False, None)),
    ("二十亿元", "", "", (20 * YI, "CNY", False, None)),
    ("三亿七千万元", "", "", (3.7 * YI, "CNY", False, None)),
    ("一点五亿元", "", "", (1.5 * YI, "CNY", False, None)),
    ("１２００万元", "", "", (1200 * WAN, "CNY", False, None)),
    ("２．５亿元", "", "", (2.5 * YI, "CNY", False, None)),
    ("110.7億元", "", "", (110.7 * YI, "CNY", False, None)),
    ("3萬元", "", "", (3 * WAN, "CNY", False, None)),
    ("1500亿(人民币)", "", "", (1500 * YI, "CNY", False, None)),
    ("2亿 元", "", "", (2 * YI, "CNY", False, None)),
    ("6亿元", "总投资约", "", (6 * YI, "CNY", True, None)),
    ("2亿元", "投资近", "", (2 * YI, "CNY", True, None)),
    ("100亿元", "总额超", "", (100 * YI, "CNY", True, None)),
    ("5000万元", "投资逾", "", (5000 * WAN, "CNY", True, None)),
    ("10亿元", "投资", "左右", (10 * YI, "CNY", True, None)),
    ("约3000万美元", "", "", (3000 * WAN, "USD", True, None)),
    ("3亿多元", "", "", (3 * YI, "CNY", True, (3 * YI, 4 * YI))),
    ("10亿元至50亿元", "", "", (10 * YI, "CNY", True, (10 * YI, 50 * YI))),
    ("10-20亿元", "", "", (10 * YI, "CNY", True, (10 * YI, 20 * YI))),
    ("1.5亿美元", "", "", (1.5 * YI, "USD", False, None)),
    ("2000万欧元", "", "", (2000 * WAN, "EUR", False, None)),
    ("5亿港元", "", "", (5 * YI, "HKD", False, None)),
    ("100亿日元", "", "", (100 * YI, "JPY", False, None)),
    ("50万英镑", "", "", (50 * WAN, "GBP", False, None)),
    ("1亿新加坡元", "", "", (YI, "SGD", False, None)),
    ("1亿法郎", "", "", None),  # French or Swiss? no guess
    ("342亩", "", "", None),
    ("abc", "", "", None),
    ("", "", "", None),
]

# span, pub_date -> (start, end, resolved_with_pub_date) or None
DATE = [
    ("2024年11月10日", None, ("2024-11-10", "2024-11-10", False)),
    ("２０２４年１１月１０日", None, ("2024-11-10", "2024-11-10", False)),
    ("2017-11-01", None, ("2017-11-01", "2017-11-01", False)),
    ("2020-11-27 10:24", None, ("2020-11-27", "2020-11-27", False)),
    ("2023年第三季度", None, ("2023-07-01", "2023-09-30", False)),
    ("2023年", None, ("2023-01-01", "2023-12-31", False)),
    ("2024年3月", None, ("2024-03-01", "2024-03-31", False)),
    ("二〇二三年十月", None, ("2023-10-01", "2023-10-31", False)),
    ("2020年至2023年", None, ("2020-01-01", "2023-12-31", False)),
    ("11月8日", PUB, ("2024-11-08", "2024-11-08", True)),
    ("11月8日上午", PUB, ("2024-11-08", "2024-11-08", True)),
    ("今年", PUB, ("2024-01-01", "2024-12-31", True)),
    ("去年", PUB, ("2023-01-01", "2023-12-31", True)),
    ("去年底", PUB, ("2023-11-01", "2023-12-31", True)),
    ("前三季度", PUB, ("2024-01-01", "2024-09-30", True)),
    ("昨天", PUB, ("2024-11-09", "2024-11-09", True)),
    ("10月", PUB, ("2024-10-01", "2024-10-31", True)),
    ("7月份", PUB, ("2024-07-01", "2024-07-31", True)),
    ("2023年第三季度", PUB, ("2023-07-01", "2023-09-30", False)),
    ("今年以来", PUB, ("2024-01-01", None, True)),
    ("2019年以来", PUB, ("2019-01-01", "2024-11-10", True)),
    ("6月30日前", PUB, (None, "2024-06-30", True)),
    ("11月8日", None, None),  # the year is the publication's: unknown without one
    ("今年", None, None),
    ("10月", None, None),
    ("18个月", PUB, None),  # a duration, not a date
    ("日前", PUB, None),
    ("近年来", PUB, None),
    ("1-7月", PUB, None),  # jionlp reads it as 1月7日: refused rather than wrong
    ("不是日期", None, None),
]

# span, article context -> (province, city, district, adcode) or None
LOC = [
    ("沙坪坝", (), ("重庆市", "重庆市", "沙坪坝区", "500106")),
    ("重庆市沙坪坝区", (), ("重庆市", "重庆市", "沙坪坝区", "500106")),
    ("重庆", (), ("重庆市", "重庆市", None, "500000")),
    ("长沙", (), ("湖南省", "长沙市", None, "430100")),
    ("江苏连云港市", (), ("江苏省", "连云港市", None, "320700")),
    ("浦东新区", (), ("上海市", "上海市", "浦东新区", "310115")),
    ("貴陽", (), ("贵州省", "贵阳市", None, "520100")),
    ("中国香港", (), ("香港特别行政区", None, None, "810000")),
    ("黔东南州", (), ("贵州省", "黔东南苗族侗族自治州", None, "522600")),
    ("宜宾县", (), ("四川省", "宜宾市", "叙州区", "511504")),  # former county, current code
    ("成都高新区", (), ("四川省", "成都市", "成都高新技术产业开发区", "510102")),
    ("朝阳区", ("北京市",), ("北京市", "北京市", "朝阳区", "110105")),
    ("南山区", ("广东省深圳市",), ("广东省", "深圳市", "南山区", "440305")),
    ("朝阳区", (), None),  # Beijing or Changchun?
    ("高新区", (), None),
    ("保税区", (), None),  # only a zone type, though jionlp knows one zone by that alias
    ("越南广宁省下龙市", (), None),
    ("美国", (), None),
    ("雄安新区", (), None),  # not 保定市安新县
    ("西部地区", (), None),
    ("磁器口后街", (), None),
]


@pytest.mark.parametrize("span, before, after, want", MONEY, ids=[m[0] or "empty" for m in MONEY])
def test_money(span, before, after, want):
    got = money_value(span, before, after)
    if want is None:
        assert got is None
        return
    amount, currency, approximate, rng = want
    assert got.amount == pytest.approx(amount)
    assert (got.currency, got.approximate) == (currency, approximate)
    assert got.range == (None if rng is None else pytest.approx(rng))


@pytest.mark.parametrize("span, pub_date, want", DATE, ids=[f"{d[0]}@{d[1]}" for d in DATE])
def test_date(span, pub_date, want):
    got = date_value(span, pub_date)
    if want is None:
        assert got is None
    else:
        assert (got.start, got.end, got.resolved_with_pub_date) == want


@pytest.mark.parametrize("span, context, want", LOC, ids=[f"{l[0]}@{''.join(l[1])}" for l in LOC])
def test_loc(span, context, want):
    got = loc_value(span, context)
    if want is None:
        assert got is None
    else:
        assert (got.province, got.city, got.district, got.adcode) == want


def test_table_is_large_enough():
    assert len(MONEY) + len(DATE) + len(LOC) >= 60


def _doc(text: str, spans: list[tuple[str, str]], **extra) -> Document:
    """Entities found by their first occurrence after the previous one."""
    ents, pos = [], 0
    for i, (label, sub) in enumerate(spans):
        start = text.index(sub, pos)
        ents.append({"id": f"e{i}", "start": start, "end": start + len(sub), "label": label, "text": sub})
        pos = start + len(sub)
    return Document.model_validate({"id": "d1", "text": text, "entities": ents, **extra})


def test_document_values_use_context_hedges_and_pub_date():
    text = "11月8日，北京市招商大会上，朝阳区签约项目总投资约6亿元。"
    doc = _doc(text, [("DATE", "11月8日"), ("LOC", "北京市"), ("LOC", "朝阳区"), ("MONEY", "6亿元")],
               pub_date=PUB)
    out = normalise_values(doc)
    date, city, district, money = (e.value for e in out.entities)
    assert (date.start, date.end) == ("2024-11-08", "2024-11-08")
    assert city.adcode == "110000" and district.adcode == "110105"
    assert money.approximate and money.amount == 6 * YI
    assert doc.entities[0].value is None  # the input is not modified
    assert normalise_values(doc, "2023-01-05").entities[0].value.start == "2023-11-08"


def test_changchun_article_resolves_chaoyang_there():
    text = "长春市朝阳区将新建一座工厂。朝阳区相关负责人表示……"
    doc = _doc(text, [("LOC", "长春市"), ("LOC", "朝阳区"), ("LOC", "朝阳区")])
    adcodes = [e.value.adcode for e in normalise_values(doc).entities]
    assert adcodes[0] == "220100" and adcodes[1] == adcodes[2] and adcodes[1].startswith("2201")


def test_only_value_labels_get_values():
    doc = _doc("重庆大学在沙坪坝。", [("ORG", "重庆大学"), ("LOC", "沙坪坝")])
    org, loc = normalise_values(doc).entities
    assert org.value is None and loc.value.district == "沙坪坝区"


def test_bad_pub_date_names_the_record():
    doc = _doc("今年开工。", [("DATE", "今年")], pub_date="10/11/2024")
    with pytest.raises(ValueError, match="record d1: pub_date"):
        normalise_values(doc)


def test_values_round_trip_through_jsonl():
    doc = _doc("2023年第三季度，重庆签约10亿元至50亿元项目。",
               [("DATE", "2023年第三季度"), ("LOC", "重庆"), ("MONEY", "10亿元至50亿元")])
    out = normalise_values(doc)
    buf = io.StringIO()
    write_jsonl([out], buf)
    line = json.loads(buf.getvalue())
    assert line["entities"][2]["value"]["range"] == [10 * YI, 50 * YI]
    back = list(read_documents(io.StringIO(buf.getvalue())))
    assert back == [out]
    assert isinstance(back[0].entities[0].value, DateValue)


def test_value_kind_must_match_label():
    money = {"kind": "MONEY", "amount": 1.0, "currency": "CNY"}
    assert isinstance(Entity(id="e", start=0, end=2, label="MONEY", text="1元", value=money).value, MoneyValue)
    with pytest.raises(ValidationError, match="a MONEY value on a LOC entity"):
        Entity(id="e", start=0, end=2, label="LOC", text="重庆", value=money)
    with pytest.raises(ValidationError):
        Entity(id="e", start=0, end=2, label="LOC", text="重庆", value={"province": "重庆市"})  # no kind


@pytest.mark.parametrize("model, data", [
    (MoneyValue, {"amount": 5.0, "currency": "CNY", "range": [9.0, 3.0]}),
    (MoneyValue, {"amount": 5.0, "currency": "yuan"}),
    (DateValue, {"start": "2024-02-30", "end": "2024-03-01"}),
    (DateValue, {"start": "2024-05-01", "end": "2024-04-01"}),
    (DateValue, {}),
    (LocValue, {"province": "重庆市", "adcode": "5001"}),
])
def test_malformed_values_are_refused(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(span=st.text(min_size=1, max_size=12), around=st.text(max_size=4))
def test_garbage_never_raises(span, around):
    for got in (money_value(span, around, around), date_value(span), date_value(span, PUB),
                loc_value(span), loc_value(span, ["北京市"])):
        assert got is None or got.kind in ("MONEY", "DATE", "LOC")
    text = around + span + around
    doc = _doc(text, [("MONEY", span)]) if span.strip() else None
    if doc is not None:
        assert normalise_values(doc).entities[0].text == span


def test_threads_get_the_same_values():
    from concurrent.futures import ThreadPoolExecutor

    doc = _doc("11月8日，重庆沙坪坝区签约约6亿元项目。", [("DATE", "11月8日"), ("LOC", "重庆沙坪坝区"), ("MONEY", "6亿元")])
    pub_dates = ["2024-11-10", "2019-12-01"] * 8
    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(lambda p: normalise_values(doc, p), pub_dates))
    for p, out in zip(pub_dates, outs):
        assert out.entities[0].value.start == p[:4] + "-11-08"
        assert out.entities[1].value.adcode == "500106" and out.entities[2].value.approximate


def test_fresh_process_prints_nothing_on_stdout():
    """jionlp prints a banner on import; the values stage must not, as `zhie predict` writes JSONL there."""
    import subprocess
    import sys

    code = ("from zhie.inference.values import ValueNormaliser, date_value\n"
            "ValueNormaliser().warm_up()\nassert date_value('2023年第三季度').start == '2023-07-01'\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""


def test_warm_up_loads_what_the_first_article_would():
    """A server's first request must not import a parser: after warm_up, no amount, date or place does."""
    import subprocess
    import sys

    code = ("import sys\nfrom zhie.inference.values import ValueNormaliser, date_value, loc_value, money_value\n"
            "ValueNormaliser().warm_up()\nloaded = set(sys.modules)\n"
            "assert money_value('二点五亿元').amount == 2.5e8 and money_value('30万美元').currency == 'USD'\n"
            "assert date_value('2023年第三季度').start == '2023-07-01' and loc_value('深圳市南山区').city == '深圳市'\n"
            "print(sorted(set(sys.modules) - loaded))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# ---------------------------------------------------------------- speed without changing a value

PLACES = ["深圳", "广东省深圳市南山区", "南山区", "朝阳区", "长春朝阳区", "重庆沙坪坝", "宜宾县", "成都高新区",
          "苏州工业园区", "浦东新区", "吉林省通辽市西安区", "西安交通大学", "海南大学", "北海市重庆路其仓11号",
          "上海市嘉定区太原路99号", "黔东南州", "中国香港", "鼓楼区", "高新区", "县", "", "越南广宁省下龙市",
          "雄安新区", "青海西宁", "湖南省长沙市", "江苏南京江北新区", "川渝高竹新区", "粤港澳大湾区"]


def _same_as_jionlp(texts: list[str]) -> None:
    from zhie.inference.values import _jio, _location_parser

    for text in texts:
        for change2new in (True, False):
            assert _location_parser()(text, change2new=change2new) == _jio().parse_location(text, change2new=change2new), text


def test_indexed_location_parser_reads_like_jionlp():
    """jionlp's parser shown only the entries named in the text: its own result, from a fraction of its table."""
    from zhie.inference.values import _location_parser

    _same_as_jionlp(PLACES + ["广东省深圳市" + p for p in PLACES] + ["北京市" + p for p in PLACES])
    parser = _location_parser()
    assert 0 < len(parser.entries_named_in("深圳南山")) < len(parser.administrative_map_list) / 100
    assert parser.entries_named_in("磁器口后街") == []


@pytest.mark.skipif(not (SHARED / "news_raw.jsonl").exists(), reason=f"news_raw.jsonl not present at {SHARED}")
def test_indexed_location_parser_on_the_dev_splits_places():
    from zhie.training.data_specs import load_source

    spans = sorted({e.text for d in load_source("news:dev") for e in d.entities if e.label == "LOC"})
    _same_as_jionlp(spans[::3])  # a third of the 600-odd distinct places: jionlp's own parser takes ~10 ms each


def test_cached_parses_give_the_same_values():
    from zhie.inference.values import clear_caches

    doc = _doc("今年一季度，深圳南山区签约20亿元项目，今年还将签约10亿元。",
               [("DATE", "今年一季度"), ("LOC", "深圳南山区"), ("MONEY", "20亿元"), ("DATE", "今年"), ("MONEY", "10亿元")])
    clear_caches()
    cold = normalise_values(doc, "2024-05-01")
    assert normalise_values(doc, "2024-05-01") == cold
    assert normalise_values(doc, "2019-05-01").entities[0].value.start == "2019-01-01"  # the base date is in the key
    assert cold.entities[0].value.start == "2024-01-01" and cold.entities[1].value.adcode == "440305"


CONTEXTS = (["广东省深圳市", "广东省"], ["吉林省长春市", "吉林省"], ["北京市"])


def _division_name_shortcut_changes_nothing(spans: list[str], monkeypatch) -> None:
    from zhie.inference import values

    cases = [(span, context) for span in spans for context in CONTEXTS]
    got = [loc_value(span, context) for span, context in cases]
    monkeypatch.setattr(values, "_names_a_division", lambda s: True)  # every span parsed, every place of the article tried
    values.clear_caches()
    assert [loc_value(span, context) for span, context in cases] == got


def test_only_spans_naming_a_division_are_parsed_or_tried_under_the_articles_places(monkeypatch):
    from zhie.inference.values import _names_a_division

    assert not _names_a_division("粤港澳大湾区") and not _names_a_division("磁器口后街")
    assert _names_a_division("南山区") and _names_a_division("高新区") and _names_a_division("宜宾县")
    _division_name_shortcut_changes_nothing(PLACES + ["粤港澳大湾区", "西部地区", "工业园区", "经济技术开发区", "朝阳"],
                                      monkeypatch)


@pytest.mark.skipif(not (SHARED / "news_raw.jsonl").exists(), reason=f"news_raw.jsonl not present at {SHARED}")
def test_division_name_shortcut_on_the_dev_splits_places(monkeypatch):
    from zhie.training.data_specs import load_source

    spans = sorted({e.text for d in load_source("news:dev") for e in d.entities if e.label == "LOC"})
    _division_name_shortcut_changes_nothing(spans, monkeypatch)
