"""安全 › 登录记录 and 安全 › 账号锁定: what administrators see of logins (issue 6 §3).

Only the administrator role holds these screens' permissions (it holds every permission;
sync_roles gives the other roles none of them).
"""
from __future__ import annotations

from flask import flash, g, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface

from .. import logins
from ..logins import LoginEvent, LoginGuard

CATEGORY = "Security"  # FAB's own security menu (用户权限)


def _when(value) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _text(value) -> str:
    return "" if value is None else str(value)


class LoginEventView(ModelView):
    route_base = "/login-events"
    datamodel = SQLAInterface(LoginEvent)
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = "登录记录"
    list_columns = ["happened_on", "account", "kind_label", "channel_label", "ip", "actor",
                    "detail"]
    show_columns = list_columns
    search_columns = ["happened_on", "account", "kind", "channel", "ip"]
    order_columns = ["happened_on", "account", "kind", "channel", "ip"]
    base_order = ("happened_on", "desc")
    label_columns = {"happened_on": "时间", "account": "账号", "kind": "事件",
                     "kind_label": "事件", "channel": "途径", "channel_label": "途径",
                     "ip": "IP 地址", "actor": "操作人", "detail": "说明"}
    formatters_columns = {"happened_on": _when, "ip": _text, "actor": _text, "detail": _text}
    page_size = 50


class LockedAccountView(ModelView):
    """Accounts with failed passwords counted, locked ones first; 解除锁定 as an action."""
    route_base = "/locked-accounts"
    datamodel = SQLAInterface(LoginGuard)
    base_permissions = ["can_list", "can_show", "unlock"]
    list_title = show_title = "账号锁定"
    list_columns = ["account", "locked_label", "failures", "last_failure_on", "locked_on",
                    "unlocks_label", "refused"]
    show_columns = list_columns
    search_columns = ["account", "locked_on", "failures"]
    order_columns = ["account", "failures", "last_failure_on", "locked_on"]
    base_order = ("locked_on", "desc")
    label_columns = {"account": "账号", "locked_label": "状态", "failures": "连续密码错误次数",
                     "last_failure_on": "最近一次错误", "locked_on": "锁定时间",
                     "unlocks_label": "自动解除时间", "refused": "锁定期间被拒次数"}
    formatters_columns = {n: _when for n in ("last_failure_on", "locked_on")}

    @action("unlock", "解除锁定", "确定解除所选账号的锁定？", "fa-unlock", multiple=True)
    def unlock(self, items):
        items = items if isinstance(items, list) else [items]
        done = [i.account for i in items if logins.unlock(i.account, g.user.username)]
        if done:
            flash(f"已解除锁定：{'、'.join(done)}。", "success")
        else:
            flash("所选账号没有被锁定。", "info")
        return redirect(self.get_redirect())


def register(appbuilder) -> None:
    appbuilder.add_view(LoginEventView, "登录记录", icon="fa-history", category=CATEGORY)
    appbuilder.add_view(LockedAccountView, "账号锁定", icon="fa-lock", category=CATEGORY)
