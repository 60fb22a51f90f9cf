"""Fill `Entity.value` for MONEY, DATE and LOC entities with jionlp, cn2an and zhconv.

The libraries do the parsing; this module only feeds them clean spans (NFKC for full-width digits,
Simplified for 億/萬), reads their output into the typed values of zhie.annotation.values, and
turns every library failure into `value=None`, so a bad span never stops a batch.

- MONEY: the hedge before the span (约, 近, 超, 逾 stay outside MONEY spans by the annotation guide)
  and 左右/以上 after it are read from the text around the span, with jionlp's own hedge patterns.
- DATE: a span is parsed against two far-apart probe dates; if the readings differ, the span is
  relative (11月8日, 今年, 去年底) and needs `pub_date`; without one it gets no value.
- LOC: a span must resolve to a Chinese division whose names (or jionlp's short aliases) make up the
  span; ambiguous short names (朝阳区, 高新区) are retried under the article's other resolved places.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import unicodedata
import warnings
from collections import Counter
from typing import Any, Callable, Sequence

from zhie.annotation.records import Document, Entity
from zhie.annotation.values import DateValue, LocValue, MoneyValue
from zhie.models.lexicon import jionlp as _jio  # imported once, its banner kept off stdout

# jionlp's currency names (its `case` field) -> ISO 4217. 法郎 (French or Swiss?) is left out on purpose.
CURRENCIES: dict[str, str] = {
    "元": "CNY", "美元": "USD", "欧元": "EUR", "港元": "HKD", "澳门元": "MOP", "日元": "JPY", "韩元": "KRW",
    "新台币": "TWD", "台币": "TWD", "英镑": "GBP", "澳元": "AUD", "澳大利亚元": "AUD", "加元": "CAD",
    "新西兰元": "NZD", "新加坡元": "SGD", "马元": "MYR", "缅元": "MMK", "卢布": "RUB", "泰铢": "THB", "马克": "DEM",
}
# Two probe "publication dates" differing in year, month, day and weekday: a span that reads the same
# under both fixes its own period.
_PROBES = (dt.datetime(2001, 3, 15, 12), dt.datetime(2013, 9, 27, 12))
_CHINESE_DECIMAL = re.compile(r"[零〇一二两三四五六七八九十百千]+点[零〇一二三四五六七八九]+")
_SEPARATORS = "·・•-— "
MAX_CONTEXT = 3  # article places tried per ambiguous LOC span; each try is a ~7 ms jionlp call
_BARE_MONTH = re.compile(r"^[0-9一二三四五六七八九十]{1,2}月份?$")
# jionlp's time parser keeps per-call state on a shared instance: serialise calls across threads.
_LOCK = threading.RLock()


def _call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A library call whose failure (any exception) means 'no value'."""
    try:
        with _LOCK:
            return fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the libraries raise anything from ValueError to IndexError
        return None


@functools.cache
def _simplify() -> Callable[[str], str]:
    import zhconv

    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # zhconv leaves its dictionary file open
        zhconv.convert("億", "zh-cn")
    return lambda s: zhconv.convert(s, "zh-cn")


def clean(span: str) -> str:
    """Full-width digits/punctuation to ASCII (NFKC), Traditional to Simplified (億 → 亿), no spaces."""
    s = unicodedata.normalize("NFKC", span)
    s = _call(_simplify(), s) or s
    return "".join(s.split())


# ---------------------------------------------------------------- MONEY

def money_value(span: str, before: str = "", after: str = "") -> MoneyValue | None:
    """The amount of a MONEY span; `before`/`after` are the text around it, read for hedges only."""
    prefix, suffix = _money_hedges()
    s = clean(span).replace("(", "").replace(")", "")  # 1500亿(人民币)
    if not s:
        return None
    decimal = _CHINESE_DECIMAL.search(s)  # 一点五亿元: jionlp reads no Chinese decimals, cn2an does
    if decimal is not None:
        number = _call(_cn2an_number, decimal.group())
        if number is not None:
            s = s[:decimal.start()] + number + s[decimal.end():]
    hedge = prefix.search(clean(before[-4:]))
    tail = suffix.match(clean(after[:2]))
    parsed = _call(_parse_money, (hedge.group() if hedge else "") + s + (tail.group() if tail else ""))
    if parsed is None and (hedge or tail):
        parsed = _call(_parse_money, s)
    return _call(_money_from_jio, parsed) if parsed else None


# The parsers are pure functions of their text (and base date), and news repeats its amounts and dates
# (20亿元, 今年, 一季度): a dev batch of 171 articles reads 472 distinct amounts in 642 and 365 dates in 674.
# The cached results are only read, never changed.
@functools.lru_cache(maxsize=65536)
def _parse_money(text: str) -> dict[str, Any] | None:
    return _jio().parse_money(text)


@functools.cache
def _money_hedges() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """jionlp's own hedge words (约, 近, 超过, 逾, ... / 左右, 以上), anchored at the span."""
    _jio()  # the banner-free import first
    from jionlp.rule.rule_pattern import MONEY_PREFIX_STRING, MONEY_SUFFIX_STRING

    return re.compile(f"{MONEY_PREFIX_STRING}$"), re.compile(MONEY_SUFFIX_STRING)


def _cn2an_number(text: str) -> str:
    import cn2an

    return str(cn2an.cn2an(text, "smart"))


def _money_from_jio(parsed: dict[str, Any]) -> MoneyValue | None:
    currency = CURRENCIES.get(parsed.get("case", ""))
    if currency is None:
        return None
    num = parsed["num"]
    approximate = parsed.get("definition") != "accurate"
    if isinstance(num, list):
        lo, hi = float(num[0]), float(num[1])
        return MoneyValue(amount=lo, currency=currency, approximate=True, range=(lo, hi))
    return MoneyValue(amount=float(num), currency=currency, approximate=approximate)


# ---------------------------------------------------------------- DATE

def parse_pub_date(pub_date: str) -> dt.datetime:
    """`YYYY-MM-DD` (a time after it is allowed); noon of that day, so no time zone shifts the day."""
    day = dt.date.fromisoformat(pub_date.strip()[:10])
    return dt.datetime(day.year, day.month, day.day, 12)


@functools.lru_cache(maxsize=65536)
def _period(span: str, base: dt.datetime) -> tuple[str | None, str | None, bool] | None:
    parsed = _call(_jio().parse_time, span, time_base=base)
    if not parsed or parsed.get("type") not in ("time_point", "time_span"):
        return None  # durations (18个月) and repeating periods (每天) are not dates
    ends: list[str | None] = []
    for t in parsed["time"]:
        if t in ("inf", "-inf"):
            ends.append(None)
        else:
            ends.append(dt.datetime.strptime(t, "%Y-%m-%d %H:%M:%S").date().isoformat())
    if ends == [None, None]:
        return None
    if span.endswith(("月", "月份")) and ends[0] is not None and not ends[0].endswith("-01"):
        return None  # jionlp reads the month range 1-7月 as 1月7日: a month-level text starts on a 1st
    return ends[0], ends[1], parsed.get("definition") != "accurate"


def date_value(span: str, pub_date: str | dt.datetime | None = None) -> DateValue | None:
    """The period a DATE span denotes; relative spans resolve against `pub_date` or get None."""
    s = clean(span)
    if not s:
        return None
    if _BARE_MONTH.match(s):
        s = "今年" + s  # jionlp refuses a bare month (10月) but reads 今年10月, which is what news means
    probes = [_call(_period, s, base) for base in _PROBES]
    relative = probes[0] != probes[1]
    if pub_date is None:
        reading = None if relative else probes[0]
    else:
        base = pub_date if isinstance(pub_date, dt.datetime) else parse_pub_date(pub_date)
        reading = _call(_period, s, base)
    if reading is None:
        return None
    start, end, approximate = reading
    return _call(DateValue, start=start, end=end, approximate=approximate,
                 resolved_with_pub_date=relative or reading != probes[0])  # 2019年以来 ends on pub_date


# ---------------------------------------------------------------- LOC

@functools.cache
def _divisions() -> dict[str, Any]:
    return _jio().china_location_loader()


@functools.lru_cache(maxsize=65536)
def _parse_location(text: str, change2new: bool = True) -> dict[str, Any] | None:
    return _call(_location_parser(), text, change2new=change2new)


@functools.cache
def _location_parser() -> Callable[..., dict[str, Any]]:
    """jionlp's location parser, shown only the division entries that have a name in the text.

    Its candidate search tests every name of all ~3,600 entries against each text: 11 ms a call, more
    than the NER encoder spends on a whole article of real news. An entry none of whose names occurs in
    the text never becomes a candidate, so handing the search only the entries a name index finds (in
    their order, the same objects) gives jionlp's own result (tests/test_values.py compares the two)."""
    _jio()  # the banner-free import first
    from jionlp.gadget.location_parser import LocationParser

    class IndexedLocationParser(LocationParser):
        def __init__(self) -> None:
            super().__init__()
            self._index: tuple[list, dict[str, list[int]], int] | None = None

        def entries_named_in(self, text: str) -> list:
            """The division entries (in the table's order) with a name (full, short, former) inside `text`."""
            if self.administrative_map_list is None:
                self._prepare()  # what jionlp does on its first call
            entries = self.administrative_map_list
            if self._index is None or self._index[0] is not entries:  # (re)built with jionlp's table
                by_name: dict[str, list[int]] = {}
                for i, entry in enumerate(entries):
                    for name in {n for pair in entry[1:4] for n in pair if n is not None}:
                        by_name.setdefault(name, []).append(i)
                self._index = (entries, by_name, max(map(len, by_name)))
            _, by_name, longest = self._index
            found = {i for a in range(len(text)) for b in range(a + 1, min(len(text), a + longest) + 1)
                     for i in by_name.get(text[a:b], ())}
            return [entries[i] for i in sorted(found)]

        def get_candidates(self, location_text: str) -> list:
            entries = self.administrative_map_list
            self.administrative_map_list = self.entries_named_in(location_text)
            try:
                return super().get_candidates(location_text)
            finally:
                self.administrative_map_list = entries

    return IndexedLocationParser()


def _names_a_division(s: str) -> bool:
    """Whether the name of a division occurs in `s`. Every name a reading can spell a span with
    (`_level_names`: full names, short aliases, former names) is one of the parser's names or contains one
    (a county named …经济技术开发区 is listed by that suffix)."""
    with _LOCK:  # not while a parse has the parser's table swapped for its few entries
        return bool(_location_parser().entries_named_in(s))


@functools.cache
def _countries() -> tuple[str, ...]:
    """Foreign country names from jionlp's world data, longest first (中国 excluded)."""
    world = _call(_jio().world_location_loader) or {}
    names = {country for continent in world.values() for country in continent}
    names.discard("中国")
    return tuple(sorted(names, key=len, reverse=True))


def _names(node: dict[str, Any]) -> list[str]:
    """Full name first, then jionlp's short aliases, longest first."""
    alias = node.get("_alias") or []
    alias = {alias} if isinstance(alias, str) else set(alias)
    return [node["_full_name"], *sorted(alias - {node["_full_name"]}, key=len, reverse=True)]


def _chain(parsed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The division nodes (province, city, county) of a jionlp result; [] if one is not in its table."""
    if not parsed or not parsed.get("province"):
        return []
    tree, nodes = _divisions(), []
    for level in ("province", "city", "county"):
        name = parsed.get(level)
        if name is None:
            continue
        if name not in tree:
            return []
        tree = tree[name]
        nodes.append(tree)
    return nodes


def _level_names(parsed: dict[str, Any]) -> list[list[str]]:
    """Per level of a jionlp reading, its full name and short aliases (only the name for a former
    division such as 宜宾县, which the current table lacks)."""
    tree: dict[str, Any] | None = _divisions()
    out = []
    for level in ("province", "city", "county"):
        name = parsed.get(level)
        if name is None:
            continue
        tree = tree.get(name) if tree else None
        out.append(_names(tree) if tree else [name])
    return out


def _spell(rest: str, levels: list[list[str]], i: int = 0) -> list[tuple[int, str]] | None:
    """The (level, name) pairs that spell `rest` from names of levels i.. (each level at most once, in
    order, any may be skipped); None when they cannot. Backtracks: 宜宾县 is 宜宾县, not 宜宾 + 县."""
    if not rest:
        return []
    if i == len(levels):
        return None
    for name in levels[i]:
        if rest.startswith(name):
            found = _spell(rest[len(name):].lstrip(_SEPARATORS), levels, i + 1)
            if found is not None:
                return [(i, name), *found]
    return _spell(rest, levels, i + 1)


def _spelled_depth(s: str, parsed: dict[str, Any] | None, alone: bool = True) -> int | None:
    """How many levels of jionlp's reading `s` names, if `s` is spelled by those division names (or
    their short aliases) in order; None otherwise (rejects 雄安新区 → 安新县, 越南广宁省 → 广宁县).

    A span `alone` that is only a zone-type alias (保税区 for 衡阳综合保税区, 高新区: aliases that do
    not begin the full name) names no particular zone; only the article's context can place it."""
    if not parsed or not parsed.get("province"):
        return None
    levels = _level_names(parsed)
    detail = parsed.get("detail") or ""
    if not s.endswith(detail):
        return None
    spelled = s[:len(s) - len(detail)]
    if spelled.startswith("中国"):
        spelled = spelled[2:]
    names = _spell(spelled.strip(_SEPARATORS), levels)
    if not names:
        return None
    if alone and len(names) == 1 and not levels[names[0][0]][0].startswith(names[0][1]):
        return None
    deepest = names[-1][0]
    if deepest == 0 and len(levels) > 1 and levels[1][0] == levels[0][0]:
        deepest = 1  # 重庆 names the municipality, which is also its own city
    return deepest + 1


def _loc(parsed: dict[str, Any] | None, depth: int | None) -> LocValue | None:
    """The first `depth` levels of a jionlp reading (长沙 names 长沙市, not jionlp's 长沙县)."""
    kept = _chain(parsed)[:depth or 0]
    if not kept:
        return None
    names = [n["_full_name"] for n in kept] + [None] * (3 - len(kept))
    return LocValue(province=names[0], city=names[1], district=names[2], adcode=kept[-1].get("_admin_code"))


def loc_value(span: str, context: Sequence[str] = ()) -> LocValue | None:
    """The division a LOC span names. `context` are full names of places the article resolves
    (e.g. 广东省深圳市), tried in order as a prefix when the span alone is ambiguous."""
    s = clean(span)
    if not s or s.startswith(_countries()):  # 越南广宁省下龙市 is not 广东省广宁县
        return None
    if not _names_a_division(s):  # 粤港澳大湾区, 长三角: _spelled_depth spells `s` from division names, so no
        return None  # reading can fit, alone or under the article's places (a quarter of dev's places: 2 parses each)
    parsed = _parse_location(s)
    depth = _call(_spelled_depth, s, parsed)
    if depth is None:  # a former name (宜宾县) spells jionlp's old reading; report the current division
        depth = _call(_spelled_depth, s, _parse_location(s, change2new=False))
    value = _call(_loc, parsed, depth)
    for prefix in context[:MAX_CONTEXT]:
        if value is not None:
            break
        parsed = _parse_location(prefix + s)
        value = _call(_loc, parsed, _call(_spelled_depth, s, parsed, False))
    return value


def _context(values: list[LocValue]) -> list[str]:
    """Prefixes from the article's resolved places, most frequent city first, then provinces."""
    cities = Counter((v.province, v.city) for v in values if v.city)
    provinces = Counter(v.province for v in values)
    out = [p if c == p else p + c for (p, c), _ in cities.most_common()]
    return out + [p for p, _ in provinces.most_common() if p not in out]


def clear_caches() -> None:
    """Forget every parsed span, so that a timed run starts as cold as a fresh process."""
    for cached in (_parse_money, _period, _parse_location):
        cached.cache_clear()


# ---------------------------------------------------------------- documents

def normalise_values(doc: Document, pub_date: str | None = None) -> Document:
    """A copy of `doc` with `value` set on every MONEY, DATE and LOC entity (None where unresolved).

    `pub_date` (YYYY-MM-DD) defaults to the document's own `pub_date` field; a malformed one is an
    error naming the record, not a silent drop of every relative date.
    """
    if pub_date is None:
        pub_date = (doc.model_extra or {}).get("pub_date")
    base = None
    if pub_date is not None and str(pub_date).strip():  # "" is the same as no date
        try:
            base = parse_pub_date(str(pub_date))
        except ValueError as exc:
            raise ValueError(f"record {doc.id}: pub_date {pub_date!r} is not an ISO date YYYY-MM-DD") from exc
    text = doc.text
    values: dict[str, Any] = {}
    locs: list[Entity] = []
    for e in doc.entities:
        if e.label == "MONEY":
            values[e.id] = money_value(e.text, text[max(0, e.start - 4):e.start], text[e.end:e.end + 2])
        elif e.label == "DATE":
            values[e.id] = date_value(e.text, base)
        elif e.label == "LOC":
            values[e.id] = loc_value(e.text)
            locs.append(e)
    context = _context([values[e.id] for e in locs if values[e.id] is not None])
    for e in locs:
        if values[e.id] is None and context:
            values[e.id] = loc_value(e.text, context)
    entities = [e.model_copy(update={"value": values[e.id]}) if e.id in values else e for e in doc.entities]
    return doc.model_copy(update={"entities": entities})


class ValueNormaliser:
    """The values stage of the Extractor: documents in, the same documents with values out; each
    document's own `pub_date` field resolves its relative dates."""

    name = "values"

    def warm_up(self) -> None:
        """Load jionlp's tables and zhconv's dictionary now (~2 s), not on a server's first request."""
        normalise_values(Document(id="warm-up", text="2024年重庆沙坪坝签约一点五億元", entities=[  # 一点五: cn2an
            Entity(id="d", start=0, end=5, label="DATE", text="2024年"),
            Entity(id="l", start=5, end=10, label="LOC", text="重庆沙坪坝"),
            Entity(id="m", start=12, end=17, label="MONEY", text="一点五億元")]))

    def __call__(self, docs: Sequence[Document]) -> list[Document]:
        return [normalise_values(d) for d in docs]
