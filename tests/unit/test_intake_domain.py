"""Intake's pure checks: USCC (GB 32100), districts, fingerprints."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.http import DeclarationCreate
from contracts.schemes import Scheme
from services.intake import domain


def decl(**overrides: object) -> DeclarationCreate:
    base: dict[str, object] = {
        "scheme": Scheme.GRADING,
        "uscc": "91110115MA04C2UX1E",
        "enterprise_name": "北京示例新能源科技有限公司",
        "district": "大兴",
        "declared_on": date(2025, 10, 8),
        "data": {},
    }
    base.update(overrides)
    return DeclarationCreate(**base)


@pytest.mark.parametrize("code", ["91110108MA01XK3T2Q", "91110115MA04C2UX1E", "91110113MA001N9R6P"])
def test_sample_usccs_pass_the_gb32100_check(code: str) -> None:
    assert domain.check_uscc(code) == code


@pytest.mark.parametrize("code", ["91110108MA01XK3T2R", "11110108MA01XK3T2Q", "9111010"])
def test_a_wrong_check_character_or_length_is_refused(code: str) -> None:
    assert domain.check_uscc(code) is None


@pytest.mark.parametrize(
    ("raw", "name"), [("海淀", "海淀区"), ("海淀区", "海淀区"), ("北京市大兴区", "大兴区"), (" 顺义 ", "顺义区")]
)
def test_districts_answer_to_their_short_names(raw: str, name: str) -> None:
    assert domain.canonical_district(raw) == name


def test_an_unknown_district_is_none() -> None:
    assert domain.canonical_district("浦东新区") is None


def test_check_declaration_names_every_bad_field_at_once() -> None:
    _, errors = domain.check_declaration(decl(uscc="91110108MA01XK3T2R", district="浦东"))
    assert [(e.path, e.code) for e in errors] == [("$.uscc", "uscc_invalid"), ("$.district", "district_unknown")]
    assert all(e.message_zh and e.message_en for e in errors)


def test_check_declaration_canonicalises() -> None:
    fixed, errors = domain.check_declaration(decl())
    assert errors == []
    assert fixed.district == "大兴区"


def test_fingerprint_ignores_the_client_id_but_not_the_content() -> None:
    assert domain.fingerprint(decl()) == domain.fingerprint(decl(declaration_id="client-12345678"))
    assert domain.fingerprint(decl()) != domain.fingerprint(decl(data={"plot_ratio": 1}))
