import pytest

from zhie.annotation.patterns import find_spans
from zhie.training.data_specs import SHARED, DataSourceError, load_source


@pytest.mark.parametrize("text, expected", [
    ("欧林生物总投资约6亿元", [("6亿元", "MONEY")]),
    ("计划总投资62亿，其中人民币962.3亿元", [("62亿", "MONEY"), ("人民币962.3亿元", "MONEY")]),
    ("5000多万元和10亿元至50亿元", [("5000多万元", "MONEY"), ("10亿元至50亿元", "MONEY")]),
    ("发布于2023-03-31 18:08，今年以来，4月底前", [("2023-03-31 18:08", "DATE"), ("今年以来", "DATE"), ("4月底前", "DATE")]),
    ("11月8日上午签约，2023年第三季度", [("11月8日上午", "DATE"), ("2023年第三季度", "DATE")]),
    ("占地342亩，打造200亿级产业集群，27个项目", []),
])
def test_money_and_date_patterns_follow_the_guide(text, expected):
    assert [(text[s:e], lab) for s, e, lab in find_spans(text)] == expected


def test_unknown_source_is_a_clear_error():
    with pytest.raises(DataSourceError, match="unknown data source"):
        load_source("wikipedia")


@pytest.mark.skipif(not (SHARED / "external" / "cluener").exists(), reason=f"shared corpora not present at {SHARED}")
@pytest.mark.parametrize("spec, labels", [("cluener", {"ORG", "LOC"}), ("fewfc", {"ORG", "MONEY", "DATE"}),
                                          ("pd:300", {"LOC", "DATE"})])
def test_silver_corpora_map_onto_our_labels(spec, labels):
    docs = load_source(spec)
    assert len(docs) >= 300
    seen = {e.label for d in docs for e in d.entities}
    assert labels <= seen and seen <= {"ORG", "MONEY", "DATE", "LOC", "PROJECT"}
