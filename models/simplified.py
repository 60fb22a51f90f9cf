"""Traditional Chinese articles read as Simplified, one character for one, so no offset moves.

Why: our encoder was pretrained on mostly Simplified prose, and 9 % of the annotated articles are
Traditional (Hong Kong and Taiwan outlets), whose characters' embeddings are barely trained. On the
dev split's 14 Traditional articles the bundled NER found entities with F1 0.731 as written and 0.761
with the articles mapped, retrained on nothing (its Simplified articles: 0.871). Every path that
tokenises text for an encoder (training windows, inference, relation states, distillation) goes
through `to_simplified` (via zhie.models.tokenizer.encode_texts), so training and inference read alike.

The table is jionlp's character map (`dictionary/tra2sim_char.txt`), read from the installed package
without importing it. A text is mapped only when characters of that table make at least
`TRADITIONAL_SHARE` of its Han characters (the annotated Traditional articles: 28 % or more; the
Simplified ones: 1.2 % at most), so a Simplified article is never touched; and a few characters that
Simplified writing keeps for words of its own (著名, 覆盖, 乾坤) are left as they are.
"""
from __future__ import annotations

import functools
import re

from zhie.models.package_data import package_file

TRADITIONAL_SHARE = 0.1
MIN_TRADITIONAL = 2  # and at least this many such characters: one 乾 in a headline is not a Traditional text
KEEP = frozenset("著覆乾")  # the table maps them for other words (看著 -> 看着) but Simplified writes 著名, 覆盖, 乾坤
_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")


@functools.cache
def _table() -> dict[int, str]:
    """str.translate table: Traditional character -> its Simplified one (single characters only)."""
    table = {}
    with package_file("jionlp", "dictionary/tra2sim_char.txt").open(encoding="utf-8") as f:
        for line in f:
            tra, _, sim = line.rstrip("\n").partition("\t")
            if len(tra) == 1 and len(sim) == 1 and tra != sim and tra not in KEEP:
                table[ord(tra)] = sim
    return table


def is_traditional(text: str) -> bool:
    """Whether `text` is written in Traditional characters (enough of its Han characters are in the table)."""
    table = _table()
    han = _HAN.findall(text)
    found = sum(1 for ch in han if ord(ch) in table)
    return found >= MIN_TRADITIONAL and found >= TRADITIONAL_SHARE * len(han)


def to_simplified(text: str) -> str:
    """`text` with Traditional characters replaced by Simplified ones when it is a Traditional text;
    the same length, character for character, so offsets into it index the original."""
    return text.translate(_table()) if is_traditional(text) else text
