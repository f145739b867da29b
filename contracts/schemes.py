"""Scoring schemes and designations: the vocabulary shared by every service."""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    """The three scoring schemes: annual grading (003 附表), green factory (002), beautiful factory (000/001)."""

    GRADING = "grading"
    GREEN_FACTORY = "green-factory"
    BEAUTIFUL_FACTORY = "beautiful-factory"


class Designation(StrEnum):
    """What a unit's lifecycle workflow is about (003 第二条)."""

    ANNUAL_GRADING = "annual-grading"
    MUNICIPAL_GREEN_FACTORY = "municipal-green-factory"
    NATIONAL_RECOMMENDATION = "national-recommendation"
    BEAUTIFUL_FACTORY = "beautiful-factory"


SCHEME_DESIGNATION: dict[Scheme, Designation] = {
    Scheme.GRADING: Designation.ANNUAL_GRADING,
    Scheme.GREEN_FACTORY: Designation.MUNICIPAL_GREEN_FACTORY,
    Scheme.BEAUTIFUL_FACTORY: Designation.BEAUTIFUL_FACTORY,
}

SCHEME_LABELS: dict[Scheme, str] = {
    Scheme.GRADING: "工厂绿色分级评价",
    Scheme.GREEN_FACTORY: "北京市绿色工厂评价",
    Scheme.BEAUTIFUL_FACTORY: "北京市美丽工厂案例",
}


def workflow_id(uscc: str, designation: Designation) -> str:
    """The lifecycle workflow id of one unit and designation: stable, so a restart finds it."""
    return f"unit-{uscc}-{designation.value}"
