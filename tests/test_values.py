"""Tests of app.sheets.values: parsing of single cell values (lists.md §1)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import pathlib
from decimal import Decimal

import pytest
from conftest import SAMPLES

from app.sheets import values as v
from app.sheets.values import ValueProblem

D = dt.date

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_check(id17: str) -> str:
    """Independent GB 11643 check character (for building expected values)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(id17, ID_WEIGHTS)) % 11]


def uscc_check(code17: str) -> str:
    """Independent GB 32100 check character: weights 3^(i-1) mod 31."""
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(code17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def problem(func, *args, **kwargs) -> str:
    with pytest.raises(ValueProblem) as info:
        func(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message == info.value.message
    return message


# --------------------------------------------------------------------------- clean_text

@pytest.mark.parametrize("raw, expected", [
    (None, None),
    ("", None),
    ("   ", None),
    ("\u3000\u00a0\u200b\ufeff", None),
    ("abc", "abc"),
    ("  上海市  ", "上海市"),
    ("\u3000上海市\u3000", "上海市"),
    ("\u00a0上海市\u00a0", "上海市"),
    ("\ufeff\u200b上海市\u200d\u200c", "上海市"),
    ("上海\u200b市", "上海市"),
    ("ＡＢＣ１２３ａｂｃ", "ABC123abc"),
    ("沪安监［２０１５］１２号", "沪安监［2015］12号"),        # letters/digits folded, brackets kept
    ("第一条（总则），……", "第一条（总则），……"),            # Chinese punctuation kept
    ("①　危险化学品", "① 危险化学品"),                      # inner U+3000 -> space, ① kept
    ("'310110195001014126", "310110195001014126"),
    ("''abc", "'abc"),                                        # only ONE apostrophe dropped
    ("  'abc", "abc"),
    ("第一行\r\n第二行\r第三行\n第四行", "第一行\n第二行\n第三行\n第四行"),
    ("第一行_x000D_\n第二行", "第一行\n第二行"),
    ("\n  多行\n文本  \n", "多行\n文本"),
    (12, "12"),
    (12.0, "12"),
    (-3.0, "-3"),
    (12.5, "12.5"),
    (0.1, "0.1"),
    (1e-05, "0.00001"),
    (Decimal("12.50"), "12.5"),
    (Decimal("12.00"), "12"),
    (True, "TRUE"),
    (False, "FALSE"),
    (D(2015, 3, 1), "2015-03-01"),
    (dt.datetime(2015, 3, 1), "2015-03-01"),
    (dt.datetime(2015, 3, 1, 8, 30), "2015-03-01 08:30:00"),
    ("/", "/"),                                               # NULLS are not applied here
    ("无", "无"),
    (float("nan"), None),
])
def test_clean_text(raw, expected):
    assert v.clean_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("张　伟", "张伟"),
    (" 张 伟 ", "张伟"),
    ("张\u00a0\u200b伟", "张伟"),
    ("欧阳　 小明", "欧阳小明"),
    ("买买提•艾力", "买买提·艾力"),
    ("买买提・艾力", "买买提·艾力"),
    ("", None),
])
def test_clean_text_person_name(raw, expected):
    assert v.clean_text(raw, person_name=True) == expected


def test_clean_text_keeps_inner_spaces_without_person_name():
    assert v.clean_text("张　伟") == "张 伟"


# --------------------------------------------------------------------------- is_null / parse_text

@pytest.mark.parametrize("text", [
    None, "", "/", "／", "—", "——", "-", "--", "－", "无", "暂无", "N/A", "n/a", "NULL", "None",
])
def test_is_null(text):
    assert v.is_null(text) is True


@pytest.mark.parametrize("text", ["0", "否", "无锡", "N", "有", "—1"])
def test_is_not_null(text):
    assert v.is_null(text) is False


def test_is_null_none_means_no():
    assert v.is_null("无", none_means_no=True) is False
    assert v.is_null("/", none_means_no=True) is True
    assert v.is_null("暂无", none_means_no=True) is True


def test_nulls_contains_the_required_placeholders():
    required = {"", "/", "—", "-", "无", "暂无", "N/A", "n/a", "／", "－", "--", "——"}
    assert required <= v.NULLS


@pytest.mark.parametrize("raw, expected", [
    ("  行政许可 ", "行政许可"),
    ("/", None),
    ("—", None),
    ("暂无", None),
    ("无", None),
    ("N/A", None),
    (None, None),
    ("", None),
    ("第一项\r\n第二项", "第一项\n第二项"),
    (2015.0, "2015"),
])
def test_parse_text(raw, expected):
    assert v.parse_text(raw) == expected


def test_parse_text_person_name():
    assert v.parse_text(" 张　伟 ", person_name=True) == "张伟"


def test_parse_text_max_length():
    assert v.parse_text("一二三", max_length=3) == "一二三"
    message = problem(v.parse_text, "一二三四", max_length=3)
    assert "过长" in message and "4" in message and "3" in message and "「一二三四」" in message


@pytest.mark.parametrize("raw", ["#N/A", "#REF!", "#VALUE!", "#DIV/0!"])
def test_parse_text_excel_error_values(raw):
    message = problem(v.parse_text, raw)
    assert f"「{raw}」" in message and "公式" in message


# --------------------------------------------------------------------------- parse_bool

@pytest.mark.parametrize("raw, expected", [
    ("是", True), ("否", False),
    ("有", True), ("无", False),
    ("√", True), ("×", False),
    ("✓", True), ("✗", False),
    ("Y", True), ("N", False),
    ("y", True), ("n", False),
    ("Ｙ", True), ("ｎ", False),
    ("YES", True), ("no", False),
    ("1", True), ("0", False),
    ("1.0", True), ("0.0", False),
    (1, True), (0, False),
    (1.0, True), (0.0, False),
    ("TRUE", True), ("FALSE", False),
    ("true", True), ("False", False),
    ("True", True), ("fAlSe", False),
    (True, True), (False, False),
    ("收费", True), ("不收费", False), ("免费", False),
    (" 是 ", True), ("\u3000否\u3000", False),
    (None, None), ("", None), ("  ", None), ("/", None), ("—", None), ("暂无", None),
])
def test_parse_bool(raw, expected):
    assert v.parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["可能", "2", 2, 0.5, "是否", "X"])
def test_parse_bool_rejects(raw):
    message = problem(v.parse_bool, raw)
    assert message.startswith("「")
    assert "“是”或“否”" in message and "Y/N" in message


def test_parse_bool_excel_error():
    assert problem(v.parse_bool, "#N/A") == "单元格是 Excel 公式错误值「#N/A」：请修正公式，或直接填写内容"


def test_parse_bool_message_quotes_value():
    assert problem(v.parse_bool, "可能") == (
        "「可能」无法识别为是/否：请填写“是”或“否”（也可用 有/无、√/×、Y/N、1/0、TRUE/FALSE）")


# --------------------------------------------------------------------------- parse_date

@pytest.mark.parametrize("raw, expected", [
    (D(2015, 3, 1), D(2015, 3, 1)),
    (dt.datetime(2015, 3, 1, 14, 30), D(2015, 3, 1)),
    (42064, D(2015, 3, 1)),
    (42064.0, D(2015, 3, 1)),
    (42064.75, D(2015, 3, 1)),                 # a time of day is dropped
    (Decimal("42064"), D(2015, 3, 1)),
    (61, D(1900, 3, 1)),
    (1, D(1900, 1, 1)),                        # Excel shows serial 1 as 1900-01-01
    (59, D(1900, 2, 28)),
    (2958465, D(9999, 12, 31)),
    (20150301, D(2015, 3, 1)),                 # yyyymmdd typed into a number cell
    ("42064", D(2015, 3, 1)),
    ("42064.0", D(2015, 3, 1)),
    ("2015-3-1", D(2015, 3, 1)),
    ("2015-03-01", D(2015, 3, 1)),
    ("2015/3/1", D(2015, 3, 1)),
    ("2015/03/01", D(2015, 3, 1)),
    ("2015.3.1", D(2015, 3, 1)),
    ("2015.03.01", D(2015, 3, 1)),
    ("20150301", D(2015, 3, 1)),
    ("2015年3月1日", D(2015, 3, 1)),
    ("2015年03月01日", D(2015, 3, 1)),
    ("2015 年 3 月 1 日", D(2015, 3, 1)),
    ("2015年3月1号", D(2015, 3, 1)),
    ("2015-03-01 00:00:00", D(2015, 3, 1)),
    ("2015/3/1 0:00", D(2015, 3, 1)),
    ("2015-03-01T08:30:00", D(2015, 3, 1)),
    ("２０１５－０３－０１", D(2015, 3, 1)),
    ("２０１５年３月１日", D(2015, 3, 1)),
    ("  2015-3-1\u3000", D(2015, 3, 1)),
    ("'2015-3-1", D(2015, 3, 1)),
    ("2016-2-29", D(2016, 2, 29)),
    (None, None), ("", None), ("/", None), ("—", None), ("无", None),
])
def test_parse_date(raw, expected):
    assert v.parse_date(raw) == expected


@pytest.mark.parametrize("raw, shown", [
    ("2015-2-30", "2015-2-30"),
    ("2015-13-01", "2015-13-01"),
    ("2015-02-29", "2015-02-29"),
    ("20150230", "20150230"),
    ("2015年2月30日", "2015年2月30日"),
    ("2015年3月", "2015年3月"),
    ("15-3-1", "15-3-1"),
    ("3/1/2015", "3/1/2015"),
    ("2015-3/1", "2015-3/1"),
    ("明年", "明年"),
    ("0.5", "0.5"),
    (0.5, "0.5"),
    (0, "0"),
    (-1, "-1"),
    (2958466, "2958466"),
    (60, "60"),                               # Excel's non-existent 1900-02-29
    ("1899-12-31", "1899-12-31"),
    (True, "TRUE"),
    (dt.time(8, 30), "08:30:00"),
])
def test_parse_date_rejects(raw, shown):
    message = problem(v.parse_date, raw)
    assert message == (f"日期「{shown}」无法识别：请填写有效日期，如 2015-03-01、2015/3/1 或 2015年3月1日")


def test_parse_date_message_example_from_brief():
    assert problem(v.parse_date, "2015-2-30") == (
        "日期「2015-2-30」无法识别：请填写有效日期，如 2015-03-01、2015/3/1 或 2015年3月1日")


@pytest.mark.parametrize("raw", ["2015", 2015, 2015.0])
def test_parse_date_rejects_a_bare_year(raw):
    assert problem(v.parse_date, raw) == "日期「2015」只有年份：请填写完整日期，如 2015-03-01"


# --------------------------------------------------------------------------- parse_int

@pytest.mark.parametrize("raw, expected", [
    ("12", 12), (12, 12), (12.0, 12), ("12.0", 12), ("１２", 12), (" 12 ", 12),
    ("12年", 12), ("12人", 12), ("12 人", 12), ("12个工作日", 12), ("0", 0), ("-3", -3),
    ("+3", 3), ("1,200", 1200), ("1,200人", 1200), (Decimal("7"), 7), ("'12", 12),
    (None, None), ("", None), ("/", None), ("—", None),
])
def test_parse_int(raw, expected):
    assert v.parse_int(raw) == expected


@pytest.mark.parametrize("raw, fragment", [
    (12.5, "「12.5」不是整数"),
    ("12.5", "「12.5」不是整数"),
    (Decimal("1.5"), "「1.5」不是整数"),
    ("十二", "「十二」无法识别为整数"),
    ("12万", "「12万」无法识别为整数"),
    ("12余人", "「12余人」无法识别为整数"),
    ("12人以上", "「12人以上」无法识别为整数"),
    ("约12人", "「约12人」无法识别为整数"),
    ("12a", "「12a」无法识别为整数"),
    ("1,20", "「1,20」无法识别为整数"),
    (True, "「TRUE」不是整数"),
    (float("inf"), "不是整数"),
])
def test_parse_int_rejects(raw, fragment):
    message = problem(v.parse_int, raw)
    assert fragment in message
    assert "如 12" in message


@pytest.mark.parametrize("raw, kwargs, expected_message", [
    ("-1", {"min_value": 0}, "「-1」超出范围：应不小于 0"),
    (0, {"min_value": 1}, "「0」超出范围：应不小于 1"),
    ("2200", {"min_value": 2000, "max_value": 2100}, "「2200」超出范围：应在 2000 到 2100 之间"),
    ("101", {"max_value": 100}, "「101」超出范围：应不大于 100"),
])
def test_parse_int_bounds(raw, kwargs, expected_message):
    assert problem(v.parse_int, raw, **kwargs) == expected_message


def test_parse_int_bounds_inclusive():
    assert v.parse_int("2000", min_value=2000, max_value=2100) == 2000
    assert v.parse_int(2100.0, min_value=2000, max_value=2100) == 2100


# --------------------------------------------------------------------------- parse_decimal

@pytest.mark.parametrize("raw, kwargs, expected", [
    ("85分", {}, Decimal("85.0")),
    ("85 分", {}, Decimal("85.0")),
    (85, {}, Decimal("85.0")),
    (85.5, {}, Decimal("85.5")),
    ("85.5", {}, Decimal("85.5")),
    ("85.50", {}, Decimal("85.5")),
    ("８５．５分", {}, Decimal("85.5")),
    ("0", {"min_value": 0, "max_value": 100}, Decimal("0.0")),
    ("100", {"min_value": 0, "max_value": 100}, Decimal("100.0")),
    ("85.25", {"places": 2}, Decimal("85.25")),
    ("85", {"places": 0}, Decimal("85")),
    ("3.5点", {"suffixes": ("点",)}, Decimal("3.5")),
    (None, {}, None), ("", {}, None), ("/", {}, None),
])
def test_parse_decimal(raw, kwargs, expected):
    result = v.parse_decimal(raw, **kwargs)
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)          # also the number of places


@pytest.mark.parametrize("raw, kwargs, fragment", [
    ("85.55", {}, "「85.55」小数位过多：最多 1 位小数"),
    (85.55, {}, "「85.55」小数位过多：最多 1 位小数"),
    ("85.5", {"places": 0}, "「85.5」小数位过多：最多 0 位小数"),
    ("优秀", {}, "「优秀」不是数值"),
    ("85分分", {}, "「85分分」不是数值"),
    ("85点", {}, "「85点」不是数值"),
    ("101", {"min_value": 0, "max_value": 100}, "「101」超出范围：应在 0 到 100 之间"),
    ("-1", {"min_value": 0, "max_value": 100}, "「-1」超出范围：应在 0 到 100 之间"),
    (True, {}, "「TRUE」不是数值"),
])
def test_parse_decimal_rejects(raw, kwargs, fragment):
    assert fragment in problem(v.parse_decimal, raw, **kwargs)


# --------------------------------------------------------------------------- parse_amount

WAN = Decimal(10000)


@pytest.mark.parametrize("raw, unit, expected", [
    (300000, None, "300000.00"),
    (300000.0, None, "300000.00"),
    ("300000", None, "300000.00"),
    ("300,000.00", None, "300000.00"),
    ("¥300000", None, "300000.00"),
    ("￥300,000", None, "300000.00"),
    ("¥300,000.00", None, "300000.00"),
    ("￥ 300000", None, "300000.00"),
    ("人民币300000元", None, "300000.00"),
    ("RMB 300000", None, "300000.00"),
    ("30万", None, "300000.00"),
    ("30万元", None, "300000.00"),
    ("30.5万元", None, "305000.00"),
    ("30万元整", None, "300000.00"),
    ("300000元", None, "300000.00"),
    ("1.2亿", None, "120000000.00"),
    ("1.2亿元", None, "120000000.00"),
    ("３０万元", None, "300000.00"),
    ("0.1", None, "0.10"),
    (0.1, None, "0.10"),
    (1234.56, None, "1234.56"),
    (0.07, None, "0.07"),
    ("0", None, "0.00"),
    (Decimal("12.3"), None, "12.30"),
    (30, WAN, "300000.00"),                    # bare number in a （万元） column
    (30.0, WAN, "300000.00"),
    ("30", WAN, "300000.00"),
    (30.5, WAN, "305000.00"),
    (0.0001, WAN, "1.00"),
    ("30万元", WAN, "300000.00"),              # an explicit unit wins over the header's
    ("300000元", WAN, "300000.00"),
    ("1.5", Decimal(100000000), "150000000.00"),
])
def test_parse_amount(raw, unit, expected):
    result = v.parse_amount(raw) if unit is None else v.parse_amount(raw, unit=unit)
    assert result == Decimal(expected)
    assert str(result) == expected             # exactly two places, no float noise


@pytest.mark.parametrize("raw", [None, "", "/", "—", "无", float("nan")])
def test_parse_amount_empty(raw):
    assert v.parse_amount(raw) is None


@pytest.mark.parametrize("raw, fragment", [
    ("-5", "金额「-5」不能为负数"),
    (-5, "金额「-5」不能为负数"),
    (-0.5, "金额「-0.5」不能为负数"),
    ("-30万元", "金额「-30万元」不能为负数"),
    ("0.001", "金额「0.001」小数位过多"),
    (0.001, "金额「0.001」小数位过多"),
    ("三十万", "金额「三十万」无法识别"),
    ("约30万", "金额「约30万」无法识别"),
    ("30万美元", "金额「30万美元」无法识别"),
    ("30,00", "金额「30,00」无法识别"),
    ("abc", "金额「abc」无法识别"),
    (True, "金额「TRUE」无法识别"),
    ("1e5", "金额「1e5」无法识别"),
])
def test_parse_amount_rejects(raw, fragment):
    assert fragment in problem(v.parse_amount, raw)


def test_parse_amount_message():
    assert problem(v.parse_amount, "abc") == (
        "金额「abc」无法识别：请填写数字，如 300000、300,000.00、30万元")


def test_parse_amount_decimal_places_after_scaling():
    # 0.000001 万元 = 0.01 元 is fine; 0.0000001 万元 = 0.001 元 is not
    assert v.parse_amount("0.000001", unit=WAN) == Decimal("0.01")
    assert "小数位过多" in problem(v.parse_amount, "0.0000001", unit=WAN)


@pytest.mark.parametrize("header, expected", [
    ("核定金额（万元）", Decimal(10000)),
    ("核定金额(万元)", Decimal(10000)),
    ("核定金额(元)", Decimal(1)),
    ("（元）", Decimal(1)),
    ("保险费（亿元）", Decimal(100000000)),
    ("保险费【万元】", Decimal(10000)),
    ("金额（单位：万元）", Decimal(10000)),
    ("*核定金额（万元）（必填）", Decimal(10000)),
    ("核定金额", None),
    ("核定金额（必填）", None),
    ("法定办理时限（工作日）", None),
    ("", None),
    (None, None),
])
def test_unit_from_header(header, expected):
    assert v.unit_from_header(header) == expected


# --------------------------------------------------------------------------- split_multi

@pytest.mark.parametrize("raw, expected", [
    ("1、危险化学品\n2、冶金", ["危险化学品", "冶金"]),
    ("1、危险化学品\r\n2、冶金", ["危险化学品", "冶金"]),
    ("危险化学品、冶金、有色", ["危险化学品", "冶金", "有色"]),
    ("危险化学品，冶金,有色", ["危险化学品", "冶金", "有色"]),
    ("危险化学品；冶金;有色", ["危险化学品", "冶金", "有色"]),
    ("危险化学品/冶金／有色", ["危险化学品", "冶金", "有色"]),
    ("（一）危险化学品\n（二）冶金", ["危险化学品", "冶金"]),
    ("（一）危险化学品；（二）冶金", ["危险化学品", "冶金"]),
    ("(1)危险化学品 (2)冶金", ["危险化学品 (2)冶金"]),          # no separator: one part
    ("(1)危险化学品；(2)冶金", ["危险化学品", "冶金"]),
    ("一、危险化学品\n二、冶金", ["危险化学品", "冶金"]),
    ("①危险化学品②冶金", ["危险化学品②冶金"]),
    ("①危险化学品\n②冶金", ["危险化学品", "冶金"]),
    ("1.危险化学品\n2.冶金", ["危险化学品", "冶金"]),
    ("1. 危险化学品；2. 冶金", ["危险化学品", "冶金"]),
    ("1，危险化学品\n2，冶金", ["危险化学品", "冶金"]),
    ("1、危险化学品、2、冶金", ["危险化学品", "冶金"]),
    ("１、危险化学品", ["危险化学品"]),
    ("危险化学品、、冶金、", ["危险化学品", "冶金"]),
    ("危险化学品、/、冶金", ["危险化学品", "冶金"]),
    ("危险化学品、冶金、危险化学品", ["危险化学品", "冶金"]),
    (" 冶金 ， 有色 ", ["冶金", "有色"]),
    ("冶金\u3000、\u3000有色", ["冶金", "有色"]),
    ("乡镇（街道）级、市级", ["乡镇（街道）级", "市级"]),
    ("1.5米", ["1.5米"]),                                       # not numbering
    ("2,3-二氯丙烷", ["2", "3-二氯丙烷"]),
    ("企业法人", ["企业法人"]),
    ("/", []),
    ("—", []),
    ("", []),
    (None, []),
    (12, ["12"]),
])
def test_split_multi(raw, expected):
    assert v.split_multi(raw) == expected


# --------------------------------------------------------------------------- enumerations

POWER_TYPES = ["行政许可", "行政处罚", "行政强制", "行政征收", "行政给付", "行政检查", "行政确认",
               "行政奖励", "行政裁决", "其他行政权力"]
POWER_SYNONYMS = {"许可": "行政许可", "处罚": "行政处罚", "行政监督": "行政检查",
                  **{f"{i:02d}": t for i, t in enumerate(POWER_TYPES, start=1)}}
LEVELS = ["市级", "区县级", "乡镇（街道）级"]


@pytest.mark.parametrize("raw, expected", [
    ("行政许可", "行政许可"),
    ("  行政许可\u3000", "行政许可"),
    ("行政 许可", "行政许可"),
    ("许可", "行政许可"),
    ("处罚", "行政处罚"),
    ("行政监督", "行政检查"),
    ("02", "行政处罚"),
    ("2", "行政处罚"),
    (2, "行政处罚"),
    (2.0, "行政处罚"),
    ("２", "行政处罚"),
    ("10", "其他行政权力"),
    (10.0, "其他行政权力"),
    ("'02", "行政处罚"),
    (None, None),
    ("", None),
    ("/", None),
    ("无", None),
])
def test_parse_enum(raw, expected):
    assert v.parse_enum(raw, POWER_TYPES, POWER_SYNONYMS) == expected


def test_parse_enum_without_synonyms():
    assert v.parse_enum("男", ["男", "女"]) == "男"
    assert v.parse_enum("乡镇(街道)级", LEVELS) == "乡镇（街道）级"


def test_parse_enum_wu_is_a_value_where_listed():
    assert v.parse_enum("无", ["正高级", "副高级", "中级", "初级", "无"]) == "无"
    assert v.parse_enum("/", ["正高级", "无"]) is None


def test_parse_enum_ascii_case_insensitive():
    assert v.parse_enum("class a", ["Class A", "Class B"]) == "Class A"
    assert v.parse_enum("ab", ["甲级"], {"AB": "甲级"}) == "甲级"


@pytest.mark.parametrize("raw, shown", [("行政审批", "行政审批"), ("11", "11"), (11, "11"),
                                         ("0", "0")])
def test_parse_enum_rejects(raw, shown):
    assert problem(v.parse_enum, raw, POWER_TYPES, POWER_SYNONYMS) == (
        f"「{shown}」不是允许的值，允许的值：" + "、".join(POWER_TYPES))


def test_parse_enum_message_lists_at_most_25_values():
    choices = [f"选项{i}" for i in range(30)]
    message = problem(v.parse_enum, "别的", choices)
    assert message == "「别的」不是允许的值，允许的值：" + "、".join(choices[:25]) + "等"
    assert "选项25" not in message


@pytest.mark.parametrize("raw, expected", [
    ("市级、区县级", ["市级", "区县级"]),
    ("市级；区县级；乡镇（街道）级", ["市级", "区县级", "乡镇（街道）级"]),
    ("1、市级\n2、区县级", ["市级", "区县级"]),
    ("市级、市级", ["市级"]),
    ("区县级,市级", ["区县级", "市级"]),
    ("乡镇(街道)级", ["乡镇（街道）级"]),
    ("市级", ["市级"]),
    ("/", None),
    ("", None),
    (None, None),
])
def test_parse_multi_enum(raw, expected):
    assert v.parse_multi_enum(raw, LEVELS) == expected


def test_parse_multi_enum_synonyms_and_duplicates_after_mapping():
    assert v.parse_multi_enum("许可、行政许可、处罚", POWER_TYPES, POWER_SYNONYMS) == [
        "行政许可", "行政处罚"]


def test_parse_multi_enum_names_all_unknown_parts():
    message = problem(v.parse_multi_enum, "市级、省级、国家级", LEVELS)
    assert message == "「省级」、「国家级」不是允许的值，允许的值：市级、区县级、乡镇（街道）级"


def test_parse_multi_enum_whole_cell_choice_with_separator():
    assert v.parse_multi_enum("甲/乙类", ["甲/乙类", "丙类"]) == ["甲/乙类"]


# --------------------------------------------------------------------------- credit codes

def sample_credit_codes() -> list[str]:
    text = (SAMPLES / "enterprises_gbk.csv").read_bytes().decode("gb18030")
    rows = list(csv.DictReader(io.StringIO(text)))
    return [row["统一社会信用代码"] for row in rows]


SAMPLE_CODES = sample_credit_codes() if (SAMPLES / "enterprises_gbk.csv").exists() else [
    "91310115MA1D1YM25W"]


def test_sample_codes_were_read():
    assert "91310115MA1D1YM25W" in SAMPLE_CODES
    assert len(SAMPLE_CODES) >= 1


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_parse_credit_code_samples_valid(code):
    assert uscc_check(code[:17]) == code[17]            # the independent computation agrees
    assert v.parse_credit_code(code) == code


@pytest.mark.parametrize("code", SAMPLE_CODES)
def test_parse_credit_code_samples_wrong_check_char(code):
    wrong = code[:17] + next(c for c in "0123456789" if c != code[17])
    message = problem(v.parse_credit_code, wrong)
    assert message == (f"统一社会信用代码「{wrong}」校验位不正确：请对照营业执照或登记证书核对代码")
    assert code[17] not in message.replace(wrong, "")  # the expected char is not revealed


@pytest.mark.parametrize("raw, expected", [
    ("91310115MA1D1YM25W", "91310115MA1D1YM25W"),
    ("91310115ma1d1ym25w", "91310115MA1D1YM25W"),
    (" 9131 0115 MA1D 1YM2 5W ", "91310115MA1D1YM25W"),
    ("９１３１０１１５ＭＡ１Ｄ１ＹＭ２５Ｗ", "91310115MA1D1YM25W"),
    ("'91310115MA1D1YM25W", "91310115MA1D1YM25W"),
    ("\ufeff91310115MA1D1YM25W\u200b", "91310115MA1D1YM25W"),
    (None, None), ("", None), ("/", None), ("暂无", None),
])
def test_parse_credit_code(raw, expected):
    assert v.parse_credit_code(raw) == expected


def test_parse_credit_code_built_codes():
    # A 事业单位 code (12…) and a code with the check character 0 / a letter.
    for body in ("12310000425001185", "91310000MA1FL1MM0", "Y1310000MA1FL1MM0"):
        code = body + uscc_check(body)
        assert v.parse_credit_code(code) == code


@pytest.mark.parametrize("raw, fragment", [
    ("91310115MA1D1YM25", "位数不对：应为 18 位，现为 17 位"),
    ("91310115MA1D1YM25WW", "位数不对：应为 18 位，现为 19 位"),
    ("91310115MO1D1YM25W", "含有不允许的字符「O」"),
    ("91310115MI1D1YM25W", "不使用字母 I、O、S、V、Z"),
    ("91310115MA1D1YM2#W", "含有不允许的字符「#」"),
    ("91310115号A1D1YM25W", "含有不允许的字符「号」"),
    ("91310115MA1D1YM25X", "校验位不正确"),
])
def test_parse_credit_code_rejects(raw, fragment):
    message = problem(v.parse_credit_code, raw)
    assert fragment in message
    assert message.startswith("统一社会信用代码「")


def test_parse_credit_code_illegal_letter_without_iosvz_note():
    message = problem(v.parse_credit_code, "91310115MA1D1YM2#W")
    assert "I、O、S、V、Z" not in message


@pytest.mark.parametrize("raw", [9.13101150000001e+17, "9.13101E+17"])
def test_parse_credit_code_excel_damage(raw):
    message = problem(v.parse_credit_code, raw)
    assert "Excel" in message and "文本" in message


# --------------------------------------------------------------------------- ID numbers

def test_id_helper_agrees_with_spec_examples():
    assert id_check("31011019500101412") == "6"
    assert id_check("31011019711022712") == "X"


@pytest.mark.parametrize("raw, expected", [
    ("310110195001014126", "310110195001014126"),
    ("３１０１１０１９５００１０１４１２６", "310110195001014126"),
    ("31011019711022712x", "31011019711022712X"),
    ("31011019711022712X", "31011019711022712X"),
    ("３１０１１０１９７１１０２２７１２ｘ", "31011019711022712X"),
    (" 310110 19500101 4126 ", "310110195001014126"),
    ("3101\u3000101950\u00a001014126", "310110195001014126"),
    ("'310110195001014126", "310110195001014126"),
    ("\ufeff310110195001014126\u200b", "310110195001014126"),
    (310110195001014126, "310110195001014126"),          # an exact int (not a float)
    (None, None), ("", None), ("/", None), ("无", None),
])
def test_parse_id_number(raw, expected):
    assert v.parse_id_number(raw) == expected


@pytest.mark.parametrize("old", ["310110500101412", "110105710923002", "440301850315123"])
def test_parse_id_number_upgrades_15_digits(old):
    id17 = old[:6] + "19" + old[6:]
    expected = id17 + id_check(id17)
    assert len(expected) == 18
    assert v.parse_id_number(old) == expected


def test_parse_id_number_upgrade_example():
    assert v.parse_id_number("310110500101412") == "310110195001014126"
    assert v.parse_id_number(310110500101412.0) == "310110195001014126"   # 15 digits survive a float
    assert v.parse_id_number("310110500101412.0") == "310110195001014126"


@pytest.mark.parametrize("raw, fragment", [
    ("310110195001014127", "校验位不正确"),
    ("31011019500101412", "位数不对：应为 18 位（旧号码 15 位），现为 17 位"),
    ("3101101950010141266", "现为 19 位"),
    ("31011019500101412A", "前 17 位应为数字，最后一位为数字或 X"),
    ("3101101950010A4126", "前 17 位应为数字"),
    ("31011050010141A", "15 位旧号码应全部为数字"),
    ("310110195002304120", "出生日期「19500230」无效"),
    ("310110189912314120", "出生日期「18991231」无效"),
    ("310110501301412", "出生日期「19501301」无效"),
])
def test_parse_id_number_rejects(raw, fragment):
    message = problem(v.parse_id_number, raw)
    assert fragment in message
    assert message.startswith("身份证号码「")


def test_parse_id_number_wrong_check_message_does_not_reveal_the_check():
    message = problem(v.parse_id_number, "310110195001014127")
    assert message == "身份证号码「310110195001014127」校验位不正确：请核对号码是否有数字抄错"


def test_parse_id_number_future_birth_date():
    future = dt.date.today() + dt.timedelta(days=400)
    id17 = "310110" + future.strftime("%Y%m%d") + "412"
    message = problem(v.parse_id_number, id17 + id_check(id17))
    assert "出生日期" in message and "无效" in message


@pytest.mark.parametrize("raw", [
    3.101101962031521e+17,
    310110196203152011.0,
    "3.10110E+17",
    "3.101101962031521e+17",
    "3.10110e17",
    "310110196203150000",
    "３１０１１０１９６２０３１５００００",
    310110196203150000,                      # an int that came from a number cell
])
def test_parse_id_number_excel_damage(raw):
    message = problem(v.parse_id_number, raw)
    assert "Excel" in message
    assert "数值" in message and "丢失" in message
    assert "“文本”格式" in message
    assert "重新录入" in message


def test_parse_id_number_excel_damage_message():
    assert problem(v.parse_id_number, "3.10110E+17") == (
        "身份证号码「3.10110E+17」已被 Excel 转成数值，后几位数字已丢失：请在 Excel 中把该列设为“文本”格式，"
        "重新录入（或从原系统重新导出）这些号码后再导入")


def test_parse_id_number_valid_id_ending_in_000_is_kept():
    # A real number may end in 000 when its check character happens to be 0.
    for seq in range(1000):
        id17 = f"31011019620315{seq:03d}"
        if id17.endswith("00") and id_check(id17) == "0":
            assert v.parse_id_number(id17 + "0") == id17 + "0"
            break
    else:  # pragma: no cover - only if no such number exists
        pytest.skip("no 000-ending valid number in this range")


@pytest.mark.parametrize("id18, born, gender", [
    ("310110195001014126", D(1950, 1, 1), "女"),
    ("31011019711022712X", D(1971, 10, 22), "女"),          # 17th digit 2: even
    ("310110197110227138", D(1971, 10, 22), "男"),          # 17th digit 3: odd
    ("310110196203152011", D(1962, 3, 15), "男"),
])
def test_id_birth_date_and_gender(id18, born, gender):
    assert v.id_birth_date(id18) == born
    assert v.id_gender(id18) == gender


@pytest.mark.parametrize("raw, expected", [
    ("310110195001014126", "310110************"),
    ("310110196203152011", "310110************"),
    ("31011019711022712X", "310110************"),
    ("310110500101412", "310110*********"),
    (None, None),
    ("12345", "*****"),
])
def test_mask_id_number_keeps_only_the_region(raw, expected):
    """Birth date (7-14), sequence and gender (15-17) and check character (18) all hidden:
    each can be filled in from a field shown beside the number, or from the others."""
    assert v.mask_id_number(raw) == expected


# --------------------------------------------------------------------------- phones

@pytest.mark.parametrize("raw, expected", [
    ("13910015679", "13910015679"),
    ("139 1001 5679", "13910015679"),
    ("139-1001-5679", "13910015679"),
    ("+86 139 1001 5679", "13910015679"),
    ("+8613910015679", "13910015679"),
    ("008613910015679", "13910015679"),
    ("8613910015679", "13910015679"),
    ("１３９１００１５６７９", "13910015679"),
    (13910015679, "13910015679"),
    (13910015679.0, "13910015679"),
    ("'13910015679", "13910015679"),
    ("021-50006789", "021-50006789"),
    ("021 5000 6789", "021-50006789"),
    ("(021)50006789", "021-50006789"),
    ("（021）50006789", "021-50006789"),
    ("(021) 5000-6789", "021-50006789"),
    ("02150006789", "021-50006789"),
    ("021－50006789", "021-50006789"),
    ("50006789", "021-50006789"),
    (50006789, "021-50006789"),
    (50006789.0, "021-50006789"),
    ("5000 6789", "021-50006789"),
    ("+86 21 5000 6789", "021-50006789"),
    ("021-50006789转123", "021-50006789-123"),
    ("021-50006789 转 123", "021-50006789-123"),
    ("021-50006789-123", "021-50006789-123"),
    ("021-50006789 ext 123", "021-50006789-123"),
    ("021-50006789 EXT.123", "021-50006789-123"),
    ("021-50006789分机123", "021-50006789-123"),
    ("50006789转8", "021-50006789-8"),
    ("50006789-123", "021-50006789-123"),
    ("010-65521234", "010-65521234"),
    ("01065521234", "010-65521234"),
    ("0571-87654321", "0571-87654321"),
    ("057187654321", "0571-87654321"),
    ("0571-8765432", "0571-8765432"),
    ("0571-8765432-1", "0571-8765432-1"),
    ("0512 6523 4567", "0512-65234567"),
    ("12345", "12345"),
    ("12350", "12350"),
    (None, None), ("", None), ("/", None), ("—", None), ("无", None),
])
def test_parse_phone(raw, expected):
    assert v.parse_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "1391001567",          # 10 digits
    "139100156790",        # 12 digits
    "12910015679",         # 12x is not a mobile prefix
    "021-5000678",         # Shanghai numbers have 8 digits
    "021-500067890",
    "5000678",
    "123",
    "13910015679转123",    # no extension on a mobile
    "+1 415 555 0100",
    "电话：021-50006789",
    "abc",
    "021-50006789-1234567",
    13910015679.5,
    True,
    0, "0", "00",          # found by the API fuzzer: IndexError
])
def test_parse_phone_rejects(raw):
    message = problem(v.parse_phone, raw)
    assert message.startswith("电话「")
    assert "13910015679" in message and "021-50006789" in message


@pytest.mark.parametrize("raw", ["13910015679、021-50006789", "13910015679/13910015678",
                                  "13910015679，13910015678"])
def test_parse_phone_rejects_several_numbers(raw):
    assert "只能填写一个号码" in problem(v.parse_phone, raw)


# --------------------------------------------------------------------------- e-mail

@pytest.mark.parametrize("raw, expected", [
    ("zhangwei@example.com", "zhangwei@example.com"),
    ("ZhangWei@Example.COM", "ZhangWei@example.com"),
    ("  zhang.wei+list@mail.example.com.cn ", "zhang.wei+list@mail.example.com.cn"),
    ("zhangwei＠example.com", "zhangwei@example.com"),
    ("ｚｈａｎｇ@ｅｘａｍｐｌｅ.ｃｏｍ", "zhang@example.com"),
    ("mailto:zhangwei@example.com", "zhangwei@example.com"),
    ("zhang_wei-1@sub-domain.example.org", "zhang_wei-1@sub-domain.example.org"),
    (None, None), ("", None), ("/", None), ("无", None),
])
def test_parse_email(raw, expected):
    assert v.parse_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "zhangwei", "zhangwei@", "@example.com", "zhangwei@example", "zhang wei@example.com",
    "zhangwei@@example.com", "zhangwei@example..com", ".zhangwei@example.com",
    "zhang..wei@example.com", "zhangwei@-example.com", "zhangwei@example.c",
    "a@example.com;b@example.com", "张伟@example.com", "zhangwei@example。com",
])
def test_parse_email_rejects(raw):
    message = problem(v.parse_email, raw)
    assert message.startswith("电子邮箱「") and "zhangwei@example.com" in message


# --------------------------------------------------------------------------- 文号

@pytest.mark.parametrize("raw, expected", [
    ("沪府发[2015]12号", "沪府发〔2015〕12号"),
    ("沪安监[2015]12号", "沪安监〔2015〕12号"),
    ("沪安监（2015）12号", "沪安监〔2015〕12号"),
    ("沪安监(2015)12号", "沪安监〔2015〕12号"),
    ("沪安监【2015】12号", "沪安监〔2015〕12号"),
    ("沪安监〔2015〕12号", "沪安监〔2015〕12号"),
    ("沪安监［2015］12号", "沪安监〔2015〕12号"),
    ("沪安监﹝2015﹞12号", "沪安监〔2015〕12号"),
    ("沪安监[ 2015 ]12号", "沪安监〔2015〕12号"),
    ("沪安监［２０１５］１２号", "沪安监〔2015〕12号"),
    ("国发〔2015〕11号、沪府发[2016]3号", "国发〔2015〕11号、沪府发〔2016〕3号"),
    ("总局令第22号", "总局令第22号"),
    ("沪安监(12)号", "沪安监(12)号"),
    ("", ""),
])
def test_normalise_doc_number(raw, expected):
    assert v.normalise_doc_number(raw) == expected


# --------------------------------------------------------------------------- formulas

@pytest.mark.parametrize("text, expected", [
    ("=1+1", True),
    ("=HYPERLINK(\"http://x\")", True),
    ("+86 139", True),
    ("-5", True),
    ("@SUM(A1)", True),
    ("\t=1", True),
    ("\r=1", True),
    ("行政许可", False),
    ("a=b", False),
    ("", False),
    (None, False),
])
def test_looks_like_formula(text, expected):
    assert v.looks_like_formula(text) is expected


# --------------------------------------------------------------------------- module rules

def test_values_module_does_not_import_flask():
    source = pathlib.Path(v.__file__).read_text(encoding="utf-8")
    assert "flask" not in source.lower().replace("no flask", "")


def test_value_problem_is_value_error():
    assert issubclass(ValueProblem, ValueError)
    assert str(ValueProblem("「x」不对")) == "「x」不对"
