"""High-precision MONEY and DATE patterns, used to fill silver labels into corpora that lack them.

CLUENER has no money or date labels and FewFC labels only event arguments; left as they are, those
corpora would teach the model that amounts and dates are "O". These patterns follow the guide
(hedges such as 约/超 stay outside, 多 and a leading currency word stay inside, DATE keeps 以来/前/后/起).
"""
from __future__ import annotations

import re

_NUM = r"\d+(?:[.,，]\d+)*"
_CN_NUM = r"[一二两三四五六七八九十百千万亿零〇]+"
_UNIT = r"(?:万亿|千亿|百亿|亿|千万|百万|万|千)"
_CUR = r"(?:元|美元|港元|港币|欧元|日元|英镑|韩元|澳元|加元|新台币|卢布)"
_AMOUNT = rf"(?:人民币|美元)?(?:{_NUM}多?{_UNIT}?多?|{_CN_NUM}多?){_CUR}"
_BARE = rf"{_NUM}多?(?:亿|万)"  # 总投资62亿: an amount without a currency word
MONEY_RE = re.compile(
    rf"{_AMOUNT}(?:(?:至|到|-|~|—)(?:{_AMOUNT}))?"
    rf"|(?<=投资)(?:约|近|超|逾|达)?{_BARE}(?![元美港欧日英韩卢\w])"
)

_Y = r"(?:\d{4}|[一二三四五六七八九〇零]{4})年"
_M = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})月"
_D = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
_PART = r"(?:上午|下午|晚上|晚|早上|凌晨|中午|上旬|中旬|下旬|初|底|末)"
_TAIL = r"(?:以来|来|前|后|起)?"
DATE_RE = re.compile(
    rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}(?:\s\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?"
    rf"|(?:{_Y})?(?:{_M})(?:{_D})?{_PART}?(?:(?:至|到|-)(?:{_M})?(?:{_D}){_PART}?)?{_TAIL}"
    rf"|{_Y}(?:第[一二三四]季度|[上下]半年|前[一二三]季度|{_PART})?{_TAIL}"
    rf"|(?:今年|去年|明年|前年)(?:第[一二三四]季度|[上下]半年|前[一二三]季度|初|底|年初|年底|以来|同期)?"
    rf"|近日|日前|目前|当天|当日|近年来|前三季度|上半年|下半年|年初|年底|十四五|十三五"
)


def find_spans(text: str) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, label) matches of the MONEY and DATE patterns, MONEY first."""
    spans: list[tuple[int, int, str]] = []
    taken = [False] * len(text)
    for label, rx in (("MONEY", MONEY_RE), ("DATE", DATE_RE)):
        for m in rx.finditer(text):
            s, e = m.span()
            if e > s and not any(taken[s:e]):
                spans.append((s, e, label))
                for i in range(s, e):
                    taken[i] = True
    return sorted(spans)
