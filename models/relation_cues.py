"""The annotation guide's relation rules as word cues: binary features of a candidate (PROJECT, tail) pair.

The guide decides project_location by the verb (位于, 落户, 在X建设, the venue of the project's own
groundbreaking: yes; a place that only signs or hosts the signing ceremony: no) and project_amount by what
the amount is (invested or agreed: yes; output, revenue, tax, registered capital, thresholds and the totals
of a batch of projects: no). The encoder's states carry these words, but the train split's 1,458 linked
pairs are few to learn them from; naming them is what a reader of the guide does (gain: model card).
"""
from __future__ import annotations

from zhie.annotation.records import Entity

LOCATE_WORDS = ("落户", "位于", "坐落", "选址", "落地", "建设", "建于", "所在", "入驻", "布局", "扎根", "投建", "兴建",
                "开工", "动工", "奠基", "竣工")
SIGN_WORDS = ("签约", "签署", "签订", "仪式", "举行", "举办", "召开", "洽谈", "推介")
INVEST_WORDS = ("投资", "投入", "斥资", "协议", "签约额", "融资", "资金")
NOT_INVESTED_WORDS = ("注册资本", "产值", "营收", "收入", "销售", "税", "利润", "年产", "营业额", "规模", "过", "超")
GROUP_WORDS = ("个项目", "批", "个重大", "个重点", "项目总", "等")
AFTER_PAIR = 8  # characters after the pair where its verb usually stands (X项目落户Y, Y举行签约仪式)
NEAR_TAIL = 6  # characters before/after the tail that say what the amount is or what the place does

# cue name -> (region of the text, words any of which sets the cue)
WORD_CUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "locate_near": ("pair", LOCATE_WORDS), "sign_near": ("pair", SIGN_WORDS),
    "invested_before_tail": ("before_tail", INVEST_WORDS),
    "not_invested_before_tail": ("before_tail", NOT_INVESTED_WORDS),
    "group_between": ("between", GROUP_WORDS),
    "sign_after_tail": ("after_tail", SIGN_WORDS), "locate_after_tail": ("after_tail", LOCATE_WORDS),
}


def regions(text: str, head: Entity, tail: Entity) -> dict[str, str]:
    """The stretches of `text` the cues look at, for one pair."""
    first_end, second_start = min(head.end, tail.end), max(head.start, tail.start)
    return {"pair": text[min(head.start, tail.start):max(head.end, tail.end) + AFTER_PAIR],
            "between": text[first_end:second_start] if second_start > first_end else "",
            "before_tail": text[max(0, tail.start - NEAR_TAIL):tail.start],
            "after_tail": text[tail.end:tail.end + NEAR_TAIL]}


def word_cues(text: str, head: Entity, tail: Entity) -> list[int]:
    """One 0/1 per WORD_CUES entry: does its region hold one of its words."""
    where = regions(text, head, tail)
    return [int(any(w in where[region] for w in words)) for region, words in WORD_CUES.values()]
