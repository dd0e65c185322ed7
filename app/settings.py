"""Domain settings: the bureau's local rules and dictionaries, kept as data.

Each can be overridden in config (environment variable QINGDAN_SETTINGS pointing at a JSON
file, or the Flask config key of the same name). `create_app` binds them (`bind`): an unknown
name or a value of the wrong kind stops the start with a message, rather than being ignored.
Code reads them through `setting()`, so a rule never hard-codes a threshold or a dictionary;
inside an application that is its bound settings, outside any (unit use) the defaults.
"""
from __future__ import annotations

from decimal import Decimal

from flask import current_app, has_app_context

DEFAULTS: dict[str, object] = {
    # 2.7 review grade thresholds: score >= threshold gives the grade, checked in this order.
    "REVIEW_GRADE_THRESHOLDS": [["优秀", 90], ["良好", 80], ["合格", 60]],
    "REVIEW_GRADE_FAIL": "不合格",
    # 2.10 minimum deposit in 元 by enterprise size (a warning below it).
    "DEPOSIT_MINIMUM": {"小型": 300000, "中型": 1000000, "大型": 1500000, "特大型": 2000000},
    # 2.11 minimum per-person liability limit in 元 (a warning below it).
    "POLICY_PER_PERSON_MINIMUM": 300000,
    # 2.5 / 2.9 Shanghai's districts; historical names map to today's.
    "DISTRICTS": [
        "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
        "宝山区", "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区",
    ],
    "DISTRICT_SYNONYMS": {
        "闸北区": "静安区", "卢湾区": "黄浦区", "南汇区": "浦东新区", "崇明县": "崇明区",
        "黄浦": "黄浦区", "徐汇": "徐汇区", "长宁": "长宁区", "静安": "静安区", "普陀": "普陀区",
        "虹口": "虹口区", "杨浦": "杨浦区", "闵行": "闵行区", "宝山": "宝山区", "嘉定": "嘉定区",
        "浦东": "浦东新区", "金山": "金山区", "松江": "松江区", "青浦": "青浦区", "奉贤": "奉贤区",
        "崇明": "崇明区",
    },
    # 2.4 expert speciality dictionary.
    "EXPERT_SPECIALITIES": [
        "危险化学品", "石油化工", "非煤矿山", "烟花爆竹", "冶金", "有色", "建材", "机械", "轻工",
        "纺织", "商贸", "建筑施工", "交通运输", "电气", "特种设备", "消防", "职业卫生", "应急救援",
        "事故调查", "安全评价", "法律法规", "安全管理",
    ],
    # 2.4 common abbreviations of professional titles.
    "TITLE_ABBREVIATIONS": {"高工": "高级工程师", "教高": "教授级高级工程师"},
    # 首页 (dashboard): how many days ahead it warns of an end date.
    "CERTIFICATE_EXPIRY_WARNING_DAYS": 90,
    "POLICY_EXPIRY_WARNING_DAYS": 30,
    "EXPERT_TERM_WARNING_DAYS": 90,
    # A deposit of 核定年度 Y is due by this month-day of year Y (待存储/未足额 after it: overdue).
    "DEPOSIT_DUE_DATE": "03-31",
    # High-risk sectors (行业类别 values) that must hold a valid liability policy or a deposit
    # of the current year; and the deposit statuses that count as holding one.
    "HIGH_RISK_INDUSTRIES": ["非煤矿山", "烟花爆竹", "危化品生产", "危化品经营", "危化品储存",
                             "危化品使用", "危化品废弃物处置"],
    "COVERING_DEPOSIT_STATUSES": ["已足额", "未足额", "已使用待补存"],
    # The heading of the public pages (/public/).
    "PUBLIC_SITE_TITLE": "安全生产监督管理局 · 信息公开",
    # Imports with error rows in the last this many days are shown on the dashboard.
    "RECENT_IMPORT_DAYS": 30,
    # 2.7 review batches: the one who submitted a batch (提交审核) may not also approve it
    # (审核通过) unless this is true: an office with one person who may approve.
    "REVIEW_SELF_APPROVAL": False,
    # 登录记录 and ended login sessions are kept this many days, then removed (at each login).
    # At least 180: 网络安全法 第二十一条 asks for network logs of six months or more; a
    # smaller value is read as 180.
    "LOGIN_RECORD_DAYS": 365,
}


EXTENSION = "qingdan.settings"


def _same_kind(default, value) -> bool:
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def bind(app) -> None:
    """Check the configured overrides (QINGDAN_SETTINGS) and bind the settings to the app."""
    overrides = app.config.get("QINGDAN_SETTINGS") or {}
    if not isinstance(overrides, dict):
        raise RuntimeError("QINGDAN_SETTINGS 应为一个 JSON 对象：{设置项: 值, …}")
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise RuntimeError(f"QINGDAN_SETTINGS 中有未知的设置项：{'、'.join(unknown)}。"
                           f"可用的设置项：{'、'.join(DEFAULTS)}")
    wrong = [name for name, value in overrides.items() if not _same_kind(DEFAULTS[name], value)]
    if wrong:
        raise RuntimeError(f"QINGDAN_SETTINGS 中这些设置项的值类型不对：{'、'.join(wrong)}"
                           "（应与 app/settings.py 中的默认值同类：列表、字典、数字或文字）")
    app.extensions[EXTENSION] = {**DEFAULTS, **overrides}


def setting(name: str):
    if has_app_context():
        bound = current_app.extensions.get(EXTENSION)
        if bound is None:
            raise RuntimeError("领域设置尚未绑定到应用：应用应由 app.create_app() 创建")
        return bound[name]
    return DEFAULTS[name]  # no application (unit use of the rules): the defaults


def setting_decimal(name: str, key: str | None = None) -> Decimal | None:
    value = setting(name)
    if key is not None:
        value = value.get(key)
    return None if value is None else Decimal(str(value))
