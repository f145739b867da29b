"""Beijing's 16 districts (北京市行政区划): where units are, and the scope district staff act in."""

from __future__ import annotations

DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
)  # fmt: skip
