"""§8 of issue 6, backups: `flask --app app qingdan backup FILE` / `restore FILE` for the
embedded SQLite database, and for PostgreSQL and MariaDB the pg_dump / mysqldump commands
the command prints (and the README gives), run here as documented. Every test restores into
a new database and finds every record."""
from __future__ import annotations

import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import _admin_engine, _server_url
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url

from app import create_app, db
from app.backup import server_steps
from app.lists.deposits import Enterprise
from app.seeding import load_seed
from app.sheets.declare import sheets

SECRET = "qingdan-backup-test-secret-0123456789"
TOOLS = {"postgresql": "pg_dump", "mariadb": "mysqldump"}


def every_record(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (the lists, users, roles, history, files, the schema's
    version), in a comparable order."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
                    for name, table in sorted(meta.tables.items())}
    finally:
        engine.dispose()


def sqlite_app(path: Path, *, schema: bool = True):
    """An app of its own on a SQLite file (a second installation, or the restore target)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": SECRET,
                      "WTF_CSRF_ENABLED": False, "QINGDAN_SEED_ON_FIRST_START": False})
    if schema:
        from flask_migrate import upgrade
        with app.app_context():
            upgrade()
    return app


def add_enterprise(app, name: str, code: str) -> None:
    with app.app_context():
        db.session.add(Enterprise(name=name, credit_code=code, district="浦东新区",
                                  industry="其他", size="小型"))
        db.session.commit()
        db.session.remove()


def run(app, *args):
    return app.test_cli_runner().invoke(args=["qingdan", *args])


# ---------------------------------------------------------------------------- every database
def test_backup_of_every_database_restores_every_record_into_a_new_database(app, tmp_path):
    """SQLite: the qingdan commands. PostgreSQL / MariaDB: the commands print the server's
    own tools and do nothing; those commands, run as printed, restore every record."""
    with app.app_context():
        list(load_seed())
        assert all(db.session.scalar(select(db.func.count()).select_from(s.model))
                   for s in sheets if s.slug != "deposits")
        db.session.remove()
    kind = app.config["QINGDAN_DB_KIND"]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    file = tmp_path / "qingdan-backup"
    result = run(app, "backup", str(file))

    if kind == "sqlite":
        assert result.exit_code == 0, result.output
        assert "已备份" in result.output
        target = tmp_path / "new" / "qingdan.db"
        restored = sqlite_app(target, schema=False)
        result = run(restored, "restore", str(file))
        assert result.exit_code == 0, result.output
        assert every_record(f"sqlite:///{target}") == every_record(url)
        return

    assert result.exit_code == 2, result.output
    assert not file.exists()  # nothing done: the printed commands do it
    backup_steps, restore_steps = server_steps(make_url(url), str(file))
    assert f"请用数据库自带的 {TOOLS[kind]} 备份与恢复" in result.output
    for step in backup_steps + restore_steps:
        assert str(step) in result.output
    assert run(app, "restore", str(tmp_path)).exit_code != 0  # no file: nothing done

    name = f"qd_test_restored_{uuid.uuid4().hex[:8]}"
    backup_steps, restore_steps = server_steps(make_url(url), str(file), new_database=name)
    try:
        for step in backup_steps + restore_steps:
            stdin = open(step.stdin, "rb") if step.stdin else None
            try:
                done = subprocess.run(step.args, stdin=stdin, capture_output=True,
                                      timeout=600)
            finally:
                if stdin:
                    stdin.close()
            assert done.returncode == 0, (str(step), done.stderr.decode()[-2000:])
        new_url = _server_url(kind, name)
        assert every_record(new_url) == every_record(url)
    finally:
        with _admin_engine(kind).connect() as conn:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))


# ---------------------------------------------------------------------------- SQLite
def test_a_backup_made_while_a_write_is_under_way_holds_what_was_committed(tmp_path):
    live = sqlite_app(tmp_path / "live.db")
    add_enterprise(live, "上海已保存化工有限公司", "91310000MA1FL0001X")
    writer = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process is writing, not yet committed
    writer.execute("INSERT INTO qd_enterprise (name, credit_code, district, industry, size, "
                   "version, created_on, changed_on) VALUES ('上海未提交化工有限公司', "
                   "'91310000MA1FL0002X', '浦东新区', '其他', '小型', 1, '2026-01-01', "
                   "'2026-01-01')")
    try:
        result = run(live, "backup", str(tmp_path / "b.sqlite"))
        assert result.exit_code == 0, result.output
    finally:
        writer.execute("COMMIT")
        writer.close()
    copy = sqlite3.connect(tmp_path / "b.sqlite")
    assert copy.execute("SELECT name FROM qd_enterprise").fetchall() == [("上海已保存化工有限公司",)]
    copy.close()


def test_backup_does_not_overwrite_a_file_unless_told(tmp_path):
    live = sqlite_app(tmp_path / "live.db")
    out = tmp_path / "backup.sqlite"
    out.write_bytes(b"an older backup")
    result = run(live, "backup", str(out))
    assert result.exit_code == 1 and "已存在，未覆盖" in result.output and "--force" in result.output
    assert out.read_bytes() == b"an older backup"
    assert run(live, "backup", "--force", str(out)).exit_code == 0
    assert sqlite3.connect(out).execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_restore_refuses_what_is_not_a_qingdan_backup(tmp_path):
    target = sqlite_app(tmp_path / "target.db", schema=False)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"PK\x03\x04 not a database at all" * 100)
    foreign = tmp_path / "other.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    for file, why in ((junk, "它不是 SQLite 数据库"), (foreign, "没有数据库版本记录")):
        result = run(target, "restore", str(file))
        assert result.exit_code == 1, result.output
        assert "不是 qingdan 的备份文件" in result.output and why in result.output
    assert not (tmp_path / "target.db").exists()


def test_restore_refuses_a_backup_of_a_newer_version(tmp_path):
    live = sqlite_app(tmp_path / "live.db")
    assert run(live, "backup", str(tmp_path / "b.sqlite")).exit_code == 0
    conn = sqlite3.connect(tmp_path / "b.sqlite")
    conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    conn.commit()
    conn.close()
    target = sqlite_app(tmp_path / "target.db", schema=False)
    result = run(target, "restore", str(tmp_path / "b.sqlite"))
    assert result.exit_code == 1 and "比当前程序新" in result.output


def test_restore_does_not_overwrite_a_database_with_data_unless_told(tmp_path):
    source = sqlite_app(tmp_path / "source.db")
    add_enterprise(source, "上海备份里的化工有限公司", "91310000MA1FL0003X")
    assert run(source, "backup", str(tmp_path / "b.sqlite")).exit_code == 0

    target = sqlite_app(tmp_path / "target.db")  # a database in use, with its own data
    add_enterprise(target, "上海现有的化工有限公司", "91310000MA1FL0004X")
    before = every_record(f"sqlite:///{tmp_path / 'target.db'}")
    result = run(target, "restore", str(tmp_path / "b.sqlite"))
    assert result.exit_code == 1
    assert "已有数据" in result.output and "请先停止正在运行的 qingdan" in result.output
    assert "--force" in result.output
    assert every_record(f"sqlite:///{tmp_path / 'target.db'}") == before

    result = run(target, "restore", "--force", str(tmp_path / "b.sqlite"))
    assert result.exit_code == 0, result.output
    assert every_record(f"sqlite:///{tmp_path / 'target.db'}") == every_record(
        f"sqlite:///{tmp_path / 'source.db'}")


@pytest.mark.parametrize("url", ["postgresql+psycopg://qd@db.example:5433/qingdan",
                                 "mysql+pymysql://qd:secret@db.example/qingdan"])
def test_server_commands_name_the_database_but_never_a_password(url):
    backup_steps, restore_steps = server_steps(make_url(url), "/srv/qingdan.dump")
    text_ = " ".join(str(s) for s in backup_steps + restore_steps)
    assert "db.example" in text_ and "qingdan" in text_ and "secret" not in text_
    assert "qingdan_restored" in text_  # a new database, never the one in use
