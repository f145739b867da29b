"""Intake's pure checks: USCC (GB 32100) and districts as every boundary checks them, fingerprints."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from contracts.http import DeclarationCreate
from contracts.identifiers import District, Uscc, canonical_district, check_uscc
from contracts.schemes import Scheme
from greenfab.http import field_errors
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
    assert check_uscc(code) == code


@pytest.mark.parametrize("code", ["91110108MA01XK3T2R", "11110108MA01XK3T2Q", "9111010", "aaaaaaaaaaaaaaaaaa"])
def test_a_wrong_check_character_or_length_is_refused(code: str) -> None:
    assert check_uscc(code) is None


@pytest.mark.parametrize(
    ("raw", "name"), [("海淀", "海淀区"), ("海淀区", "海淀区"), ("北京市大兴区", "大兴区"), (" 顺义 ", "顺义区")]
)
def test_districts_answer_to_their_short_names(raw: str, name: str) -> None:
    assert canonical_district(raw) == name


def test_an_unknown_district_is_none() -> None:
    assert canonical_district("浦东新区") is None


def test_a_declaration_names_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        decl(uscc="91110108MA01XK3T2R", district="浦东")
    errors = field_errors(list(caught.value.errors()))
    assert [(e.path, e.code) for e in errors] == [("$.uscc", "uscc_invalid"), ("$.district", "district_unknown")]
    assert errors[0].message_zh == "统一社会信用代码无效（不符合 GB 32100 校验规则）"
    assert errors[1].message_zh == "“浦东”不是北京市的区" and "浦东" in errors[1].message_en


def test_a_declaration_is_stored_canonical() -> None:
    fixed = decl(uscc="９１１１０１１５ma04c2ux1e", district="北京市大兴区")
    assert (fixed.uscc, fixed.district) == ("91110115MA04C2UX1E", "大兴区")


class _AnyBoundary(BaseModel):
    uscc: Uscc
    district: District


@pytest.mark.parametrize(
    ("value", "code"),
    [("aaaaaaaaaaaaaaaaaa", "uscc_invalid"), ("91110108MA01XK3T2R", "uscc_invalid"),
     ("9111010", "string_too_short"), ("91110108MA01XK3T2I", "string_pattern_mismatch"), (12, "string_type")],
)  # fmt: skip
def test_every_model_with_a_uscc_field_refuses_a_bad_one_by_field(value: object, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _AnyBoundary.model_validate({"uscc": value, "district": "海淀"})
    assert [(e.path, e.code) for e in field_errors(list(caught.value.errors()))] == [("$.uscc", code)]


def test_fingerprint_ignores_the_client_id_but_not_the_content() -> None:
    assert domain.fingerprint(decl()) == domain.fingerprint(decl(declaration_id="client-12345678"))
    assert domain.fingerprint(decl()) != domain.fingerprint(decl(data={"plot_ratio": 1}))


@pytest.mark.parametrize("argv", [["history", "aaaaaaaaaaaaaaaaaa"], ["audit", "reconcile", "91110108MA01XK3T2R"]])
def test_the_command_line_refuses_a_bad_uscc_by_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from greenfab_cli.cli import main

    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "is not a valid USCC" in capsys.readouterr().err
