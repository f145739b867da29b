"""Identifiers and dates every boundary checks the same way: USCCs, Beijing's districts, unit ids, plausible days.

A USCC (统一社会信用代码, GB 32100) is checked by format and by its check character; a district is one of
Beijing's 16; a unit id is ``unit-<USCC>-<designation>``; a day someone reports (a change completed, a
finding observed) lies in a plausible range, so no date can push a deadline past the calendar's end.
Pydantic types here give each refusal a stable code, so every API names the field the same way.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from contracts.schemes import Designation

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"

# Beijing's 16 districts (北京市行政区划).
DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip

# Days people report lie between the first day a USCC could exist (GB 32100-2015 took effect on
# 2015-10-01; older events are still reported, so the floor is generous) and a little after today.
EARLIEST_DAY = date(1949, 10, 1)
LATEST_AHEAD = timedelta(days=1)  # today in Beijing may be tomorrow in UTC
LATEST_PLANNED_DAY = date(2100, 12, 31)  # the latest day a call may run to


def uscc_is_valid(value: str) -> bool:
    """True if ``value`` is an 18-character USCC whose GB 32100 check character is right."""
    if not re.fullmatch(USCC_PATTERN, value):
        return False
    try:
        stdnum_uscc.validate(value.upper())
    except StdnumError:
        return False
    return True


def _uscc(value: str) -> str:
    if not uscc_is_valid(value):
        raise PydanticCustomError(
            "uscc_invalid",
            "not a valid unified social credit code (18 characters, GB 32100 check character): {value}",
            {"value": value[:40]},
        )
    return value.upper()


Uscc = Annotated[
    str,
    Field(
        min_length=18,
        max_length=18,
        pattern=USCC_PATTERN,
        description="统一社会信用代码 (18 characters; the GB 32100 check character is verified).",
    ),
    AfterValidator(_uscc),
]


def _district(value: str) -> str:
    if value not in DISTRICTS:
        raise PydanticCustomError("district_unknown", "{value} is not one of Beijing's 16 districts", {"value": value})
    return value


District = Annotated[
    str,
    Field(min_length=3, max_length=4, description="One of Beijing's 16 districts, e.g. 大兴区."),
    AfterValidator(_district),
]


def _reported_day(value: date) -> date:
    latest = date.today() + LATEST_AHEAD
    if not EARLIEST_DAY <= value <= latest:
        raise PydanticCustomError(
            "date_out_of_range",
            "{value} is outside the plausible range {earliest} … {latest} (a day that has already happened)",
            {"value": value.isoformat(), "earliest": EARLIEST_DAY.isoformat(), "latest": latest.isoformat()},
        )
    return value


ReportedDay = Annotated[date, AfterValidator(_reported_day)]
"""A day that has happened: a change completed, a finding observed (1949-10-01 … today)."""


def _planned_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_PLANNED_DAY:
        raise PydanticCustomError(
            "date_out_of_range",
            "{value} is outside the plausible range {earliest} … {latest}",
            {
                "value": value.isoformat(),
                "earliest": EARLIEST_DAY.isoformat(),
                "latest": LATEST_PLANNED_DAY.isoformat(),
            },
        )
    return value


PlannedDay = Annotated[date, AfterValidator(_planned_day)]
"""A day in a plan, such as a call's window (1949-10-01 … 2100-12-31)."""

_UNIT_ID = re.compile(r"^unit-(?P<uscc>[0-9A-Z]{18})-(?P<designation>[a-z-]{1,40})$")
UNIT_ID_PATTERN = (
    r"^unit-[0-9A-HJ-NPQRTUWXY]{18}-"
    r"(annual-grading|municipal-green-factory|national-recommendation|beautiful-factory)$"
)
TASK_ID_PATTERN = UNIT_ID_PATTERN.removesuffix("$") + r"\.t[0-9]{1,6}$"


def parse_unit_id(value: str) -> tuple[str, Designation] | None:
    """(USCC, designation) of a unit id ``unit-<USCC>-<designation>``, or None if it is not one."""
    match = _UNIT_ID.fullmatch(value)
    if match is None or not uscc_is_valid(match["uscc"]):
        return None
    try:
        return match["uscc"], Designation(match["designation"])
    except ValueError:
        return None
