"""The identifiers and dates every boundary checks the same way: the 统一社会信用代码 (USCC, GB 32100,
check character included), Beijing's 16 districts, unit and task ids, and plausible days.

Use ``Uscc`` and ``District`` as field types: a model that declares them refuses a bad value by field
with a stable code (``uscc_invalid``, ``district_unknown``) and messages in Chinese and English, and
stores the canonical form (``91110108…`` upper case; 海淀 → 海淀区). ``check_uscc`` and
``canonical_district`` answer the same questions for code that has no model (the command line).
A day someone reports (a change completed, a finding observed) lies in a plausible range, so no date
can push a deadline past the calendar's end.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from contracts.schemes import Designation

USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{18}$"

# Beijing's 16 districts (北京市行政区划); each also answers to its name without 区.
DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip


def _nfkc(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else value


def check_uscc(value: str) -> str | None:
    """The compact, upper-case USCC if ``value`` passes GB 32100 (format and check character), else None."""
    try:
        return str(stdnum_uscc.validate(_nfkc(value).upper()))
    except StdnumError:
        return None


def uscc_is_valid(value: str) -> bool:
    """True if ``value`` is written as an 18-character USCC and its GB 32100 check character is right."""
    return re.fullmatch(USCC_PATTERN, value) is not None and check_uscc(value) is not None


def canonical_district(value: str) -> str | None:
    """The district's full name for ``value`` (e.g. 海淀 → 海淀区, 北京市大兴区 → 大兴区), or None."""
    text = _nfkc(value).removeprefix("北京市")
    for name in DISTRICTS:
        if text in (name, name.removesuffix("区")):
            return name
    return None


def _uscc(value: str) -> str:
    code = check_uscc(value)
    if code is None:
        raise PydanticCustomError(
            "uscc_invalid",
            "not a valid unified social credit code (GB 32100 check failed)",
            {"message_zh": "统一社会信用代码无效（不符合 GB 32100 校验规则）"},
        )
    return code


def _district(value: str) -> str:
    name = canonical_district(value)
    if name is None:
        raise PydanticCustomError(
            "district_unknown",
            "'{value}' is not one of Beijing's 16 districts",
            {"value": value, "message_zh": f"“{value}”不是北京市的区"},
        )
    return name


# Validators wrap what is left of them: the text is normalised, then held to the format, then checked.
Uscc = Annotated[
    str,
    Field(
        min_length=18,
        max_length=18,
        pattern=USCC_PATTERN,
        description="统一社会信用代码 (18 characters, GB 32100; the check character is verified too).",
    ),
    BeforeValidator(_nfkc),
    AfterValidator(_uscc),
]
"""A USCC field: format and GB 32100 check character, stored upper case."""

District = Annotated[
    str,
    Field(min_length=1, max_length=20, description="所在区: one of Beijing's 16 districts (海淀 or 海淀区)."),
    BeforeValidator(_nfkc),
    AfterValidator(_district),
]
"""A district field: one of the 16, stored by its full name."""


# Days people report lie between the founding of the People's Republic (older events are still
# reported, so the floor is generous) and a little after today.
EARLIEST_DAY = date(1949, 10, 1)
# "Today" is Beijing's: a day reported at 07:00 in Beijing is still yesterday in UTC. A fixed UTC+8, as China has
# kept since 1991 (no daylight saving), so that no time-zone database is needed where the services run.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
LATEST_PLANNED_DAY = date(2100, 12, 31)  # the latest day a call may run to


def _out_of_range(value: date, latest: date) -> PydanticCustomError:
    return PydanticCustomError(
        "date_out_of_range",
        "{value} is outside the plausible range {earliest} … {latest}",
        {
            "value": value.isoformat(),
            "earliest": EARLIEST_DAY.isoformat(),
            "latest": latest.isoformat(),
            "message_zh": f"日期 {value.isoformat()} 超出合理范围 {EARLIEST_DAY.isoformat()} … {latest.isoformat()}",
        },
    )


def _iso_day(value: Any) -> Any:
    """A day is written as an ISO date (``2026-12-03``): a number is not a day, whatever it would be read as."""
    if isinstance(value, int | float | bool):
        raise PydanticCustomError(
            "date_type",
            "a day is written as an ISO date, YYYY-MM-DD",
            {"message_zh": "日期须写作 YYYY-MM-DD（ISO 8601），不能是数字"},
        )
    return value


def beijing_today() -> date:
    """Today's date in Beijing, whatever the server's time zone."""
    return datetime.now(BEIJING).date()


def _reported_day(value: date) -> date:
    latest = beijing_today()
    if not EARLIEST_DAY <= value <= latest:
        raise _out_of_range(value, latest)
    return value


ReportedDay = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_reported_day)]
"""A day that has happened: a change completed, a finding observed (1949-10-01 … today)."""


def _planned_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_PLANNED_DAY:
        raise _out_of_range(value, LATEST_PLANNED_DAY)
    return value


PlannedDay = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_planned_day)]
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
