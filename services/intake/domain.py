"""Intake's pure core: checks a declaration and decides what an idempotent retry gets.

No I/O here: the adapters (api.py, outbox.py) call these functions.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from contracts.http import DeclarationCreate, FieldError

# Beijing's 16 districts (北京市行政区划); each also answers to its name without 区.
DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip


def canonical_district(value: str) -> str | None:
    """The district's full name for ``value`` (e.g. 海淀 → 海淀区), or None if it is not one."""
    text = unicodedata.normalize("NFKC", value).strip().removeprefix("北京市")
    for name in DISTRICTS:
        if text in (name, name.removesuffix("区")):
            return name
    return None


def check_uscc(value: str) -> str | None:
    """The compact USCC if valid under GB 32100, else None."""
    try:
        return str(stdnum_uscc.validate(unicodedata.normalize("NFKC", value).upper()))
    except StdnumError:
        return None


def check_declaration(decl: DeclarationCreate) -> tuple[DeclarationCreate, list[FieldError]]:
    """The declaration with canonical USCC and district, and every problem found."""
    errors: list[FieldError] = []
    uscc = check_uscc(decl.uscc)
    if uscc is None:
        errors.append(
            FieldError(
                path="$.uscc",
                code="uscc_invalid",
                message_zh="统一社会信用代码无效（不符合 GB 32100 校验规则）",
                message_en="not a valid unified social credit code (GB 32100 check failed)",
            )
        )
    district = canonical_district(decl.district)
    if district is None:
        errors.append(
            FieldError(
                path="$.district",
                code="district_unknown",
                message_zh=f"“{decl.district}”不是北京市的区",
                message_en=f"{decl.district!r} is not one of Beijing's 16 districts",
            )
        )
    fixed = decl.model_copy(update={"uscc": uscc or decl.uscc, "district": district or decl.district})
    return fixed, errors


def fingerprint(decl: DeclarationCreate) -> str:
    """A hash of what was declared, to tell an honest retry from a different request."""
    body = decl.model_dump(mode="json", exclude={"declaration_id"})
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


STATUS_ZH: dict[str, str] = {"pending": "评价中", "evaluated": "已完成评价", "failed": "评价失败"}


def status_of(evaluation: dict[str, Any] | None, error: str | None) -> str:
    """pending until scoring answers; then evaluated or failed."""
    if error:
        return "failed"
    return "evaluated" if evaluation is not None else "pending"
