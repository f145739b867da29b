"""The identifiers every boundary checks the same way: the 统一社会信用代码 (USCC, GB 32100, check
character included) and Beijing's 16 districts.

Use ``Uscc`` and ``District`` as field types: a model that declares them refuses a bad value by field
with a stable code (``uscc_invalid``, ``district_unknown``) and messages in Chinese and English, and
stores the canonical form (``91110108…`` upper case; 海淀 → 海淀区). ``check_uscc`` and
``canonical_district`` answer the same questions for code that has no model (the command line).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

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
