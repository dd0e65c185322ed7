"""The security screens (角色, 用户组, 权限 …) in Chinese.

Flask-AppBuilder names a permission by its code: "can add on PoliciesView", "menu access
on List Users". Here each reads as the list or screen it opens and what it allows —
「安全生产责任保险：新增」, 「菜单：用户列表」 — in the roles' list, page and form, and in
the lists of permissions and views. Names come from the registered views (a new list needs
nothing here); the few FAB screens without a Chinese title are named below.
"""
from __future__ import annotations

from flask import current_app
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.fieldwidgets import Select2ManyWidget
from flask_appbuilder.security.views import (
    PermissionModelView,
    PermissionViewModelView,
    RoleModelView,
    UserGroupModelView,
    ViewMenuModelView,
)
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..per_request import request_cache

ACTIONS = {
    "can_list": "列表", "can_show": "查看", "can_add": "新增", "can_edit": "编辑",
    "can_delete": "删除", "can_get": "读取（接口）", "can_info": "字段说明（接口）",
    "can_post": "新增（接口）", "can_put": "修改（接口）", "can_import": "导入",
    "can_export": "导出", "can_undo": "撤销导入", "can_see_id_numbers": "查看完整身份证号码",
    "can_publish": "审核与发布", "can_restore": "恢复记录", "can_table": "一项一表",
    "can_userinfo": "个人信息", "resetmypassword": "修改本人密码",
    "resetpasswords": "重设他人密码", "userinfoedit": "编辑个人信息", "copyrole": "复制角色",
    "menu_access": "菜单", "can_this_form_get": "打开表单", "can_this_form_post": "提交表单",
    "can_download": "下载", "unlock": "解锁账号", "can_upload": "上传",
    "download": "下载文件", "can_submit": "提交审核", "submit": "提交审核",
}
# FAB's own screens and the code-defined view-menus, by their permission name.
SCREENS = {
    "Lists": "清单的导入导出", "RoleModelView": "角色", "UserDBModelView": "用户",
    "UserGroupModelView": "用户组", "PermissionModelView": "权限",
    "ViewMenuModelView": "视图与菜单", "PermissionViewModelView": "视图上的权限",
    "ResetMyPasswordView": "修改本人密码", "ResetPasswordView": "重设密码",
    "UserInfoEditView": "编辑个人信息", "MenuApi": "菜单（接口）", "OpenApi": "接口说明",
    "SwaggerView": "接口说明页面", "SecurityApi": "登录（接口）",
    "UserStatsChartView": "用户统计", "RegisterUserModelView": "注册申请",
}


def _screen_names() -> dict[str, str]:
    """View-menu name -> Chinese name, from the registered views, once per request."""
    from .api import SheetApi
    from .screens import SheetView
    cache = request_cache("screen_names")
    if cache:
        return cache
    menu_labels = {}
    for category in current_app.appbuilder.menu.get_list():
        for item in [category, *category.childs]:
            view = getattr(item, "baseview", None)
            if view is not None and item.name != "-":
                menu_labels.setdefault(view.class_permission_name, gettext(str(item.label)))
    for view in current_app.appbuilder.baseviews:
        name = view.class_permission_name
        if isinstance(view, SheetView):
            cache[name] = view.sheet.title
        elif isinstance(view, SheetApi):
            cache[name] = f"{view.sheet.title}（接口）"
        elif name in SCREENS:
            cache[name] = SCREENS[name]
        elif name in menu_labels:
            cache[name] = menu_labels[name]
        elif getattr(view, "list_title", None):
            cache[name] = gettext(str(view.list_title))
    return cache


def action_label(name: str) -> str:
    return ACTIONS.get(name, gettext(name.replace("can_", "").replace("_", " ")))


def view_menu_label(name: str) -> str:
    """A view-menu's Chinese name; a menu entry's own name (菜单 names are its labels)."""
    return _screen_names().get(name) or SCREENS.get(name) or gettext(name)


def permission_label(pv) -> str:
    """「安全生产责任保险：新增」, 「菜单：用户列表」."""
    if pv.permission is None or pv.view_menu is None:
        return ""
    action, menu = pv.permission.name, pv.view_menu.name
    if action == "menu_access":
        return f"菜单：{view_menu_label(menu)}"
    return f"{view_menu_label(menu)}：{action_label(action)}"


def permissions_text(pvs) -> str:
    return "；".join(sorted(permission_label(pv) for pv in pvs or ()))


def _permissions_field():
    def query():
        sm = current_app.appbuilder.sm
        return sorted(sm.session.query(sm.permissionview_model).all(), key=permission_label)
    return QuerySelectMultipleField(_l("Permissions"), query_func=query,
                                    get_pk_func=lambda pv: pv.id, get_label=permission_label,
                                    widget=Select2ManyWidget())


class RoleView(RoleModelView):
    """角色: permissions by their Chinese names (the generic widgets: they use formatters)."""
    list_widget = ListWidget
    show_widget = ShowWidget
    label_columns = {"name": _l("Name"), "permissions": _l("Permissions"), "user": "用户",
                     "groups": "用户组"}
    formatters_columns = {"permissions": permissions_text}
    add_form_extra_fields = {"permissions": _permissions_field()}
    edit_form_extra_fields = {"permissions": _permissions_field()}


class PermissionsView(PermissionModelView):
    formatters_columns = {"name": action_label}


class ViewMenusView(ViewMenuModelView):
    formatters_columns = {"name": view_menu_label}


class PermissionViewsView(PermissionViewModelView):
    label_columns = {"permission": _l("Permission"), "view_menu": "视图或菜单", "role": "角色"}
    formatters_columns = {"permission": lambda p: action_label(p.name) if p else "",
                          "view_menu": lambda v: view_menu_label(v.name) if v else ""}


class GroupView(UserGroupModelView):
    label_columns = {"name": _l("Name"), "label": "显示名称", "description": "说明",
                     "users": "用户", "roles": "角色"}
