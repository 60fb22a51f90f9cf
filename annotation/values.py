"""Normalised entity values: numbers users can sum, dates they can sort, places they can group.

Each model carries a `kind` equal to the entity label it belongs to, so `Value` parses as a
discriminated union and `Entity` can check that a MONEY entity never carries a place.
Dates are ISO strings ("YYYY-MM-DD") rather than `datetime.date` so records stay plain JSON and
sort correctly as text.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator


class _ValueBase(BaseModel):
    """Values always serialise every field (`"range": null` included): users parse them by shape,
    even where the record writer drops unset fields elsewhere."""

    @model_serializer(mode="wrap")
    def _every_field(self, handler):
        return {name: getattr(self, name) for name in type(self).model_fields}


class MoneyValue(_ValueBase):
    """An amount in units of `currency` (2.5亿元 → 250000000.0 CNY).

    For a range (10亿元至50亿元, 3亿多元) `amount` is the lower bound and `range` holds both bounds;
    `approximate` is set for hedged amounts (约, 近, 超, 逾, 多, 左右) and for every range.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["MONEY"] = "MONEY"
    amount: float = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code: CNY, USD, EUR, HKD, ...")
    approximate: bool = False
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _range_ordered(self) -> "MoneyValue":
        if self.range is not None:
            lo, hi = self.range
            if not 0 <= lo <= hi:
                raise ValueError(f"range [{lo}, {hi}] must satisfy 0 <= lo <= hi")
            if self.amount != lo:
                raise ValueError(f"amount {self.amount} of a range must be its lower bound {lo}")
        return self


class DateValue(_ValueBase):
    """The calendar period a DATE mention denotes, both ends inclusive.

    A single day has start == end; 2023年 gives 2023-01-01..2023-12-31; an open period
    (今年以来, 到2025年) leaves the open end None. `resolved_with_pub_date` tells that the period
    depends on the article's publication date (11月8日, 今年, 去年底).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["DATE"] = "DATE"
    start: str | None = Field(default=None, description="first day, YYYY-MM-DD")
    end: str | None = Field(default=None, description="last day, YYYY-MM-DD")
    approximate: bool = False
    resolved_with_pub_date: bool = False

    @field_validator("start", "end")
    @classmethod
    def _iso_day(cls, v: str | None) -> str | None:
        if v is not None and (len(v) != 10 or dt.date.fromisoformat(v).isoformat() != v):
            raise ValueError(f"{v!r} is not an ISO day YYYY-MM-DD")
        return v

    @model_validator(mode="after")
    def _bounded(self) -> "DateValue":
        if self.start is None and self.end is None:
            raise ValueError("a date needs a start or an end")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class LocValue(_ValueBase):
    """The Chinese administrative division a LOC mention names, down to the level the text fixes.

    `adcode` is the 6-digit code of the deepest level given (沙坪坝 → 500106, 长沙 → 430100).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["LOC"] = "LOC"
    province: str = Field(min_length=1)
    city: str | None = None
    district: str | None = None
    adcode: str | None = Field(default=None, pattern=r"^\d{6}$")


Value = Annotated[Union[MoneyValue, DateValue, LocValue], Field(discriminator="kind")]
