"""First start of the embedded default: schema, roles, demo accounts, demo data (and one
review batch published by the demo clerk and 科长, for the public pages)."""
from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from flask_migrate import upgrade

from . import db
from .seeding import lists_are_empty, load_seed, publish_demo_batch

# Demo accounts of the embedded default only (never created in production).
DEMO_USERS = [
    ("admin", "管理员", "Admin-2015"),
    ("clerk", "科员", "Clerk-2015"),
    ("head", "科长", "Head-2015"),
    ("reader", "只读", "Reader-2015"),
]


def first_start() -> Iterator[str]:
    from .web.security import sync_roles
    upgrade()
    sync_roles()
    from .sheets.sorting import refresh_choice_keys
    refresh_choice_keys(db.session)  # as `flask qingdan init` does at a deploy
    db.session.commit()
    sm = current_app.appbuilder.sm
    created = []
    for username, role, password in DEMO_USERS:
        if sm.find_user(username=username) is None:
            sm.add_user(username, username, "演示", f"{username}@example.cn",
                        sm.find_role(role), password=password)
            created.append(username)
    db.session.commit()
    if current_app.config.get("QINGDAN_SEED_ON_FIRST_START") and lists_are_empty():
        yield "首次启动：导入演示数据……"
        yield from load_seed()
        yield from publish_demo_batch(sm.find_user(username="clerk").id,
                                      sm.find_user(username="head").id)
    yield "qingdan 已启动。演示账号（用户名 / 密码 / 角色）："
    for username, role, password in DEMO_USERS:
        yield f"  {username} / {password} / {role}"
