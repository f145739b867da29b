"""Each normaliser against generated input (hypothesis) and the samples' own spellings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake import normalise as n

FULL_WIDTH = str.maketrans("0123456789.,%", "０１２３４５６７８９．，％")


@given(st.integers(min_value=0, max_value=10**12))
def test_full_width_and_thousands_separators_read_as_the_number(value: int) -> None:
    grouped = f"{value:,}"
    assert n.number(grouped) == value
    assert n.number(grouped.translate(FULL_WIDTH)) == value


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_a_percentage_is_a_fraction(p: Decimal) -> None:
    assert n.share(f"{p}%") == p / 100
    assert n.share(f"{p}%".translate(FULL_WIDTH)) == p / 100


@given(st.integers(min_value=0, max_value=100))
def test_chinese_percentages(p: int) -> None:
    assert n.share("百分之" + cn2an.an2cn(p)) == Decimal(p) / 100


@given(st.decimals(min_value=0, max_value=1, places=4))
def test_a_bare_fraction_is_kept_and_a_bare_number_above_1_is_refused(f: Decimal) -> None:
    assert n.share(str(f)) == f
    with pytest.raises(n.NormaliseError) as err:
        n.share(str(f + 1 + Decimal("0.0001")))
    assert err.value.code == "share_ambiguous"


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("3.2亿元", "万元", Decimal(32000)), ("41,000万元", "万元", Decimal(41000)),
        ("865000000元", "万元", Decimal(86500)),
        ("3,600kg", "t", Decimal("3.6")), ("0.8t", "t", Decimal("0.8")), ("2.1吨", "t", Decimal("2.1")),
        ("9,800吨标准煤", "tce", Decimal(9800)), ("500kgce", "tce", Decimal("0.5")),
        ("186,000立方米", "m³", Decimal(186000)), ("52,000m³", "m³", Decimal(52000)),
        ("12.4公顷", "m²", Decimal(124000)), ("21,300tCO2e", "tco2e", Decimal(21300)), ("1.35", "m²", Decimal("1.35")),
    ],
)  # fmt: skip
def test_amounts_convert_to_the_fields_unit(raw: str, unit: str, expected: Decimal) -> None:
    assert n.amount(raw, unit) == expected


@given(st.decimals(min_value=0, max_value=10**6, places=3), st.sampled_from(["kg", "t", "吨", "千克"]))
def test_mass_units_convert_exactly(x: Decimal, unit: str) -> None:
    factor = Decimal("0.001") if unit in ("kg", "千克") else Decimal(1)
    assert n.amount(f"{x}{unit}", "t") == x * factor


def test_a_unit_of_the_wrong_kind_or_unknown_is_refused() -> None:
    for raw, code in (("5kg", "unit_mismatch"), ("5 furlongs", "unit_unknown"), ("abc", "not_a_number")):
        with pytest.raises(n.NormaliseError) as err:
            n.amount(raw, "万元")
        assert err.value.code == code and err.value.message_zh and err.value.message_en


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1e308", Decimal("1e308")),
        ("2.5E3吨", Decimal(2500)),
        ("１ｅ－３t", Decimal("0.001")),
        ("1,200e2kg", Decimal(120)),
    ],
)
def test_an_exponent_belongs_to_the_number_not_to_the_unit(raw: str, expected: Decimal) -> None:
    # "1e308" once read as 1 in the unknown unit "e308".
    assert n.amount(raw, "t") == expected


@pytest.mark.parametrize("raw", ["1e401", "1e-401", "9e999999999", float("nan")])
def test_a_number_beyond_any_magnitude_or_not_a_number_is_refused_before_it_is_expanded(raw: object) -> None:
    with pytest.raises(n.NormaliseError) as err:
        n.amount(raw, "t")
    assert err.value.code in ("number_out_of_range", "not_a_number") and err.value.message_zh


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("☑", True), ("■", True), ("√", True), ("✓", True), ("是", True), ("有", True), ("符合", True),
     ("已通过认证（GB/T 24001-2016）", True), ("已建立", True), ("□", False), ("否", False), ("无", False),
     ("不符合", False), ("未通过", False), (True, True), ("ｙｅｓ", True)],
)  # fmt: skip
def test_ticks(raw: object, expected: bool) -> None:
    assert n.tick(raw) is expected


def test_ticked_labels_keep_only_the_ticked() -> None:
    assert n.ticked_labels(["☑建有能源管理中心", "□建有智能微电网", "√配备三级计量"]) == [
        "建有能源管理中心",
        "配备三级计量",
    ]


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_dates_in_every_spelling(d: date) -> None:
    for text in (
        f"{d.year}年{d.month}月{d.day}日",
        d.isoformat(),
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month}.{d.day}",
    ):
        assert n.day(text) == d
        assert n.day(text.translate(FULL_WIDTH)) == d


def test_impossible_dates_are_refused() -> None:
    for raw in ("2025年2月30日", "2025-13-01", "去年"):
        with pytest.raises(n.NormaliseError):
            n.day(raw)


@given(st.sampled_from("ABCDEFGHIJKLMNOPQRST"), st.integers(min_value=10, max_value=9999))
def test_industry_codes(letter: str, digits: int) -> None:
    assert n.industry_code(f"{letter}{digits} 某某制造") == f"{letter}{digits}"


def test_a_non_code_is_refused() -> None:
    with pytest.raises(n.NormaliseError):
        n.industry_code("锂离子电池制造")
