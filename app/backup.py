"""Backups (`flask --app app qingdan backup FILE` / `restore FILE`).

The embedded SQLite database is copied with SQLite's online backup API: a consistent copy
(only committed data, as of one moment) while the app keeps running. A restore checks that
the file is a qingdan backup (a SQLite database with an Alembic version this code knows)
and does not overwrite a database that holds data unless told to (--force), because the app
may be running on it.

PostgreSQL and MySQL/MariaDB have their own tools, which do this better (consistent online
dumps, restores into a new database): `server_steps` gives the exact commands for the
configured database, which the command line prints instead.
"""
from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL


class BackupRefused(Exception):
    """The backup or restore was not done; the message says why and what to do."""


# ---------------------------------------------------------------------------- SQLite
def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None: not SQLite). An in-memory one is refused."""
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file::"):
        raise BackupRefused("当前数据库是内存中的 SQLite 数据库，没有可备份或恢复的文件。")
    return Path(url.database).resolve()


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def backup_revision(path: Path) -> str:
    """The Alembic revision of a qingdan backup; BackupRefused when it is not one."""
    not_ours = (f"「{path}」不是 qingdan 的备份文件：{{why}}。请选择用 "
                "`flask --app app qingdan backup` 生成的文件。")
    try:
        conn = _open_readonly(path)
    except sqlite3.Error as exc:
        raise BackupRefused(not_ours.format(why=f"无法打开（{exc}）")) from exc
    try:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupRefused(not_ours.format(why="文件已损坏"))
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        why = ("其中没有数据库版本记录（alembic_version）" if "no such table" in str(exc)
               else f"它不是 SQLite 数据库（{exc}）")
        raise BackupRefused(not_ours.format(why=why)) from exc
    finally:
        conn.close()
    if len(rows) != 1 or not rows[0][0]:
        raise BackupRefused(not_ours.format(why="其中的数据库版本记录（alembic_version）不完整"))
    return rows[0][0]


def backup_sqlite(database: Path, out: Path, *, force: bool = False) -> str:
    """Copy the live database to `out`, consistently, while the app runs; returns the
    backup's revision. The copy is written beside `out` first and moved into place once
    whole and checked: an interrupted backup never leaves a half file under that name."""
    if not database.exists():
        raise BackupRefused(f"数据库文件「{database}」不存在，没有可备份的内容。")
    if out.resolve() == database:
        raise BackupRefused("备份文件不能是数据库文件本身：请另选一个文件名。")
    if out.exists() and not force:
        raise BackupRefused(f"「{out}」已存在，未覆盖：请换一个文件名（例如带上日期），"
                            "或加 --force 覆盖它。")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = _open_readonly(database)
    target = sqlite3.connect(partial)
    try:
        # One step: the whole database as of one moment (writers wait meanwhile, within
        # SQLite's busy timeout: a copy of the bureau's database takes well under that).
        source.backup(target)
    finally:
        target.close()
        source.close()
    try:
        revision = backup_revision(partial)
    except BackupRefused:
        partial.unlink(missing_ok=True)
        raise BackupRefused(f"「{database}」不是 qingdan 的数据库（没有数据库版本记录），"
                            "未生成备份：请先运行 `flask --app app db upgrade`。") from None
    os.replace(partial, out)
    return revision


def holds_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    conn = _open_readonly(path)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                            ).fetchone()[0] > 0
    except sqlite3.DatabaseError:
        return True  # not a database we can read: not ours to overwrite silently
    finally:
        conn.close()


def restore_sqlite(backup: Path, database: Path, *, known: set[str],
                   force: bool = False) -> str:
    """Put a backup in place of the database; returns its revision. Refuses a file that is
    not a qingdan backup, one from a newer qingdan (a revision `known` does not have), and,
    without `force`, a database that holds data."""
    revision = backup_revision(backup)
    if revision not in known:
        raise BackupRefused(f"备份的数据库版本 {revision} 比当前程序新（或不是本系统的）："
                            "请用生成该备份的程序版本（或更新的版本）恢复。")
    if holds_data(database) and not force:
        raise BackupRefused(
            f"数据库「{database}」已有数据，恢复会用备份覆盖它的全部内容，未执行。"
            "请先停止正在运行的 qingdan（所有进程），确认无误后加 --force 重新运行；"
            "如想保留现有数据，请先用 `flask --app app qingdan backup` 备份它。")
    database.parent.mkdir(parents=True, exist_ok=True)
    source = _open_readonly(backup)
    target = sqlite3.connect(database)
    try:
        source.backup(target)  # page by page into the live file, under its write lock
    finally:
        target.close()
        source.close()
    return revision


# ---------------------------------------------------------------------------- servers
@dataclass
class Step:
    """One command of a server's backup or restore, as a list of arguments."""
    args: list[str]
    stdin: str | None = None  # a file fed on standard input (`< FILE`)

    def __str__(self) -> str:
        text = shlex.join(self.args)
        return f"{text} < {shlex.quote(self.stdin)}" if self.stdin else text


def _connection(url: URL, *, mysql: bool) -> list[str]:
    out = []
    if url.host:
        out += ["-h", url.host]
    if url.port:
        out += ["-P" if mysql else "-p", str(url.port)]
    if url.username:
        out += ["-u" if mysql else "-U", url.username]
    if mysql and url.password:
        out.append("-p")  # asks for it: a password is never put on a command line
    return out


def server_steps(url: URL, file: str, new_database: str = "qingdan_restored"
                 ) -> tuple[list[Step], list[Step]] | None:
    """(backup steps, restore steps) for a PostgreSQL or MySQL/MariaDB URL, None for others.
    The restore goes into a new, empty database: check it, then point DATABASE_URL at it."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        conn = _connection(url, mysql=False)
        return ([Step(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", *conn,
                       "--file", file, url.database])],
                [Step(["createdb", *conn, "--template=template0", "--encoding=UTF8",
                       new_database]),
                 Step(["pg_restore", "--no-owner", "--no-privileges", *conn,
                       "--dbname", new_database, file])])
    if backend in ("mysql", "mariadb"):
        conn = _connection(url, mysql=True)
        packet = "--max-allowed-packet=64M"  # the kept upload files are up to 20 MB each
        return ([Step(["mysqldump", "--single-transaction", "--routines", "--triggers",
                       "--hex-blob", "--default-character-set=utf8mb4", packet, *conn,
                       f"--result-file={file}", url.database])],
                [Step(["mysql", *conn, "-e",
                       f"CREATE DATABASE {new_database} CHARACTER SET utf8mb4 "
                       "COLLATE utf8mb4_unicode_ci"]),
                 Step(["mysql", "--default-character-set=utf8mb4", packet, *conn,
                       new_database], stdin=file)])
    return None
