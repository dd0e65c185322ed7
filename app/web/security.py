"""Who may do what: the roles, defined here in code and written to the database by
`sync_roles()` (run by `flask qingdan init` at deploy time and on the first start).

Role          may
管理员         everything (FAB's admin role: every permission that exists), among it the
              操作日志 and 导出记录 (AuditLog, ExportLog: no other role has them)
科员           list/show/add/edit/delete every list, the lists' API, import, export, undo an import,
              submit a review batch for approval (提交审核)
科长           what a clerk may, plus approve, return, publish and withdraw review batches (审核通过,
              退回, 发布, 撤回修订), see whole ID numbers, and restore a record to an earlier
              version of its history (or bring a deleted one back)
只读           list/show every list (screens and API) and the review batches, and export lists
              without ID numbers
公众           nothing yet (anonymous visitors; public pages come later)

Permissions are FAB's (permission name, view-menu name) pairs. The screens' own are found on
the registered views, so a new list needs no change here; the few that no route carries are
the constants below, shared with the import screens (app/web/imports.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

from flask import current_app, has_request_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from sqlalchemy import select, text

from ..per_request import request_cache
from . import admin_screens, auth_views
from .auth import LoginSecurity

PERM_IMPORT = ("can_import", "Lists")
PERM_EXPORT = ("can_export", "Lists")
PERM_UNDO = ("can_undo", "Lists")
PERM_SEE_ID = ("can_see_id_numbers", "Lists")
PERM_PUBLISH = ("can_publish", "ReviewBatches")  # 审核通过, 退回, 发布, 撤回修订
PERM_SUBMIT = ("can_submit", "ReviewBatches")    # 提交审核
PERM_RESTORE = ("can_restore", "Lists")
CODE_PERMISSIONS = (PERM_IMPORT, PERM_EXPORT, PERM_UNDO, PERM_SEE_ID, PERM_PUBLISH, PERM_SUBMIT,
                    PERM_RESTORE)
BATCH_ACTIONS = (PERM_PUBLISH, PERM_SUBMIT)  # the 盲审批次 screen's writes

ADMIN, CLERK, HEAD, READER, PUBLIC = "管理员", "科员", "科长", "只读", "公众"
CODE_ROLES = (ADMIN, CLERK, HEAD, READER, PUBLIC)

# What changes a list (screens, API); everything else a list's view or API carries is reading.
WRITE_PERMISSIONS = {"can_add", "can_edit", "can_delete", "can_post", "can_put"}


class QingdanSecurityManager(LoginSecurity, SecurityManager):
    """FAB's security manager with the roles below, and sessions, lockout and the password
    policy (LoginSecurity, app/web/auth.py)."""
    # FAB's "User's Statistics" chart loads Google Charts from the internet, which the
    # bureau's network does not reach: leave it out.
    userstatschartview = None
    authdbview = auth_views.AuthDBView
    resetmypasswordview = auth_views.ResetMyPasswordView
    resetpasswordview = auth_views.ResetPasswordView
    security_api = auth_views.SecurityApi
    # The security screens with Chinese permission names (app/web/admin_screens.py).
    rolemodelview = admin_screens.RoleView
    groupmodelview = admin_screens.GroupView
    permissionmodelview = admin_screens.PermissionsView
    viewmenumodelview = admin_screens.ViewMenusView
    permissionviewmodelview = admin_screens.PermissionViewsView

    def add_permissions_view(self, base_permissions, view_menu):
        # With FAB_UPDATE_PERMS on, FAB deletes every permission of a view-menu that the view's
        # routes do not carry. can_see_id_numbers lives on "Lists" (the import screens) but no
        # route carries it: keep the code-defined permissions of that view-menu.
        extra = [p for p, v in CODE_PERMISSIONS if v == view_menu]
        super().add_permissions_view(list(dict.fromkeys([*base_permissions, *extra])), view_menu)

    def find_role(self, name):
        role = super().find_role(name)
        if role is None and name in CODE_ROLES and not self._syncing_roles:
            # A fresh database (after `db upgrade`, before `qingdan init`): write the roles
            # now, so that `fab create-admin` gives the first administrator a real role.
            self._syncing_roles = True
            try:
                sync_roles()
            finally:
                self._syncing_roles = False
            role = super().find_role(name)
        return role

    _syncing_roles = False

    # -- permission checks, answered from one query per request
    # FAB asks the database once per check: a list page made ~33 checks (menu, buttons, row
    # links), one query each. The permissions of the user's roles are read once per request
    # instead; the next request reads them again, so a changed role takes effect at once.
    def role_permissions(self, role_ids) -> frozenset[tuple[str, str]]:
        """(permission, view-menu) pairs held by any of these roles; cached per request."""
        key = tuple(sorted(set(role_ids)))
        cache = request_cache("role_permissions")
        if key not in cache:
            stmt = self._pairs().where(assoc_permissionview_role.c.role_id.in_(key))
            cache[key] = frozenset(tuple(row) for row in self.session.execute(stmt))
        return cache[key]

    def _pairs(self):
        """(permission name, view-menu name) of every role's permission-view."""
        pv, perm, menu = self.permissionview_model, self.permission_model, self.viewmenu_model
        assoc = assoc_permissionview_role
        return (select(perm.name, menu.name)
                .select_from(pv).join(perm, pv.permission_id == perm.id)
                .join(menu, pv.view_menu_id == menu.id)
                .join(assoc, assoc.c.permission_view_id == pv.id))

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        return (permission_name, view_name) in self.role_permissions(role_ids)

    def find_roles_permission_view_menus(self, permission_name, role_ids):
        # Only read for the menu (the view-menu names a user may open): answered from the
        # same cached pairs, as objects shaped like FAB's (pvm.view_menu.name).
        return [SimpleNamespace(view_menu=SimpleNamespace(name=menu))
                for perm, menu in self.role_permissions(role_ids) if perm == permission_name]

    def get_public_role(self):
        cache = request_cache("public_role")
        if "role" not in cache:
            cache["role"] = super().get_public_role()
        return cache["role"]

    def is_item_public(self, permission_name, view_name) -> bool:
        # Asked first on every API call, before the token is read: one query for the
        # anonymous visitor's role and permissions together, once per request.
        cache = request_cache("public_permissions")
        if "pairs" not in cache:
            role = self.role_model
            stmt = (self._pairs().join(role, role.id == assoc_permissionview_role.c.role_id)
                    .where(role.name == self.auth_role_public))
            cache["pairs"] = frozenset(tuple(row) for row in self.session.execute(stmt))
        return (permission_name, view_name) in cache["pairs"]


# ---------------------------------------------------------------------------- checks
def has_permission(permission: tuple[str, str]) -> bool:
    """Does the current user (or the anonymous visitor) hold this permission?

    Cached for the request: list pages ask once per row (masking), not once per page.
    """
    if not has_request_context():
        return False
    cache = request_cache("permissions")
    if permission not in cache:
        sm = current_app.appbuilder.sm
        with sm.session.no_autoflush:  # asked mid-save too: never write a half-read record
            cache[permission] = bool(sm.has_access(*permission))
    return cache[permission]


def can_see_id_numbers() -> bool:
    """May the current user see ID numbers whole? (Otherwise screens and API mask them.)"""
    return has_permission(PERM_SEE_ID)


def can_export(sheet) -> bool:
    """An export is for re-import and carries whole ID numbers: lists holding them may be
    exported only by those who may see them (spec §1)."""
    if not has_permission(PERM_EXPORT):
        return False
    return can_see_id_numbers() or not any(c.sensitive for c in sheet.columns)


# ---------------------------------------------------------------------------- roles
def _staff_self_service(appbuilder) -> set[tuple[str, str]]:
    """Every signed-in user may see and edit their own profile and change their password."""
    sm = appbuilder.sm
    out = set()
    user_view = sm.user_view
    if user_view is not None:
        out |= {(p, user_view.class_permission_name)
                for p in ("can_userinfo", "resetmypassword", "userinfoedit")
                if p in user_view.base_permissions}
    for view in appbuilder.baseviews:
        if type(view).__name__ in ("ResetMyPasswordView", "UserInfoEditView"):
            out |= {(p, view.class_permission_name) for p in view.base_permissions}
    return out


def _menu_names(appbuilder, keep) -> set[str]:
    """Menu entries (and their categories) whose view passes `keep`."""
    names = set()
    for category in appbuilder.menu.get_list():
        items = [i for i in category.childs if i.name != "-"] or [category]
        for item in items:
            view = getattr(item, "baseview", None)
            if view is not None and keep(view):
                names |= {item.name, category.name}
    return names


def role_permissions(appbuilder) -> dict[str, set[tuple[str, str]]]:
    """The permissions of each code-defined role, from the registered views."""
    from .api import SheetApi
    from .screens import SheetView  # the generated list screens and APIs

    def is_list(view):
        return isinstance(view, (SheetView, SheetApi))

    def is_import_screen(view):
        return type(view).__module__ == "app.web.imports"

    def is_batches(view):  # 盲审批次: seen by all staff; its actions are BATCH_ACTIONS
        return view.class_permission_name == PERM_PUBLISH[1]

    read, write = set(), set()
    for view in appbuilder.baseviews:
        if is_list(view):
            for p in view.base_permissions:
                (write if p in WRITE_PERMISSIONS else read).add((p, view.class_permission_name))
        elif is_batches(view):
            read |= {(p, view.class_permission_name) for p in view.base_permissions
                     if (p, view.class_permission_name) not in BATCH_ACTIONS}
    imports = {(p, v.class_permission_name) for v in appbuilder.baseviews
               if is_import_screen(v) for p in v.base_permissions}
    menus = {("menu_access", m)
             for m in _menu_names(appbuilder, lambda v: is_list(v) or is_batches(v))}
    import_menus = {("menu_access", m) for m in _menu_names(appbuilder, is_import_screen)}
    own = _staff_self_service(appbuilder)

    reader = read | menus | own | {PERM_EXPORT}
    clerk = reader | write | imports | import_menus | {PERM_IMPORT, PERM_EXPORT, PERM_UNDO,
                                                       PERM_SUBMIT}
    head = clerk | {PERM_PUBLISH, PERM_SEE_ID, PERM_RESTORE}
    return {CLERK: clerk, HEAD: head, READER: reader, PUBLIC: set()}


def _all_view_permissions(appbuilder) -> set[tuple[str, str]]:
    """Every permission the registered views and menus use, and the code-defined ones."""
    out = set(CODE_PERMISSIONS)
    for view in appbuilder.baseviews:
        if view.class_permission_name and view.base_permissions:
            out |= {(p, view.class_permission_name) for p in view.base_permissions}
    for category in appbuilder.menu.get_list():
        out.add(("menu_access", category.name))
        out |= {("menu_access", i.name) for i in category.childs if i.name != "-"}
    return out


# A server-wide named lock: PostgreSQL's advisory lock key, MySQL/MariaDB's lock name.
SYNC_LOCK_KEY = 0x716E6764  # "qngd"
SYNC_LOCK_NAME = "qingdan.sync_roles"
SYNC_LOCK_SECONDS = 300


@contextmanager
def deploy_lock(engine):
    """Hold the deploy lock: one sync_roles at a time across processes and hosts (two hosts
    deploying at once, each running `qingdan init`, raced on creating the same permissions:
    the second failed on a unique key). Taken on a connection of its own, so that it outlives
    the session's transactions; released at the end, or by the server if the process dies.
    SQLite (one host, the embedded default) needs none."""
    dialect = engine.dialect.name
    if dialect not in ("postgresql", "mysql", "mariadb"):
        yield
        return
    with engine.connect() as conn:
        if dialect == "postgresql":
            conn.execute(text("SELECT set_config('lock_timeout', :ms, false)"),
                         {"ms": f"{SYNC_LOCK_SECONDS * 1000}"})
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SYNC_LOCK_KEY})
        elif conn.scalar(text("SELECT GET_LOCK(:name, :seconds)"),
                         {"name": SYNC_LOCK_NAME, "seconds": SYNC_LOCK_SECONDS}) != 1:
            raise RuntimeError(f"另一个进程正在同步角色与权限，{SYNC_LOCK_SECONDS} 秒内未结束："
                               "请确认没有卡住的部署命令后重试。")
        conn.commit()
        try:
            yield
        finally:
            if dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SYNC_LOCK_KEY})
            else:
                conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": SYNC_LOCK_NAME})
            conn.commit()


def sync_roles() -> None:
    """Write the roles and the permissions they use to the database; idempotent.

    Works whatever FAB_UPDATE_PERMS says (config turns it off: several processes share the
    database): the permissions and view-menus granted are created here, in one transaction,
    under the deploy lock (several deploys at once wait for each other, then find the work
    done). Code-defined roles get exactly the permissions above; 管理员 gets every permission.
    """
    session = current_app.appbuilder.sm.session
    session.commit()  # what follows reads after the lock: no snapshot from before it
    with deploy_lock(session.get_bind()):
        _sync_roles()


def _sync_roles() -> None:
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    session = sm.session
    Permission, ViewMenu, PermissionView = (sm.permission_model, sm.viewmenu_model,
                                            sm.permissionview_model)
    try:
        perms = {p.name: p for p in session.query(Permission)}
        menus = {v.name: v for v in session.query(ViewMenu)}
        pvs = {(pv.permission.name, pv.view_menu.name): pv
               for pv in session.query(PermissionView)
               if pv.permission is not None and pv.view_menu is not None}
        for perm_name, menu_name in sorted(_all_view_permissions(appbuilder)):
            if (perm_name, menu_name) in pvs:
                continue
            perm = perms.get(perm_name)
            if perm is None:
                perm = perms[perm_name] = Permission(name=perm_name)
                session.add(perm)
            menu = menus.get(menu_name)
            if menu is None:
                menu = menus[menu_name] = ViewMenu(name=menu_name)
                session.add(menu)
            pv = PermissionView(permission=perm, view_menu=menu)
            session.add(pv)
            pvs[(perm_name, menu_name)] = pv
        session.flush()

        wanted = {ADMIN: set(pvs), **role_permissions(appbuilder)}
        for role_name, names in wanted.items():
            # Not sm.find_role: on a fresh database it would sync the roles (and so wait
            # for the lock this sync holds).
            role = session.query(sm.role_model).filter_by(name=role_name).one_or_none()
            if role is None:
                role = sm.role_model(name=role_name)
                session.add(role)
            role.permissions = [pvs[n] for n in sorted(names)]
        session.commit()
    except Exception:
        session.rollback()
        raise
