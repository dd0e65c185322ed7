"""Command line: `flask --app app lists …` (spec §3) and `flask --app app qingdan …`."""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from . import db
from .sheets.declare import sheets

lists_cli = AppGroup("lists", help="清单的模板、导出与导入。")
qingdan_cli = AppGroup("qingdan", help="部署、备份与演示数据。")


def _sheet(slug: str):
    sheet = sheets.get(slug)
    if sheet is None:
        raise click.UsageError(f"没有名为「{slug}」的清单。可用的清单：" +
                               "、".join(s.slug for s in sheets))
    return sheet


@lists_cli.command("names")
def names():
    """每个清单的代号与中文名称，一行一个。"""
    for s in sheets:
        click.echo(f"{s.slug}\t{s.title}")


@lists_cli.command("template")
@click.argument("slug")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template(slug, out):
    """空白导入模板。"""
    from .sheets.writer import write_template
    write_template(_sheet(slug), out)
    click.echo(f"已写入 {out}", err=True)


@lists_cli.command("export")
@click.argument("slug")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export(slug, out):
    """全部记录，模板格式（可原样重新导入）。"""
    from .sheets.exporting import export_rows
    from .sheets.writer import write_export_rows
    sheet = _sheet(slug)
    n = write_export_rows(sheet, export_rows(sheet, None, db.session), out)
    if any(c.sensitive for c in sheet.columns):  # ID numbers leave the system: on the log
        from .audit import record_export
        record_export(db.session, sheet, n, user_id=None, source="cli")
        db.session.commit()
    click.echo(f"已导出 {n} 条记录到 {out}", err=True)


@lists_cli.command("import")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="只检查，不写入。")
@click.option("--valid-only", is_flag=True, help="文件有错误时只导入无错误的行。")
@click.option("--complete", is_flag=True, help="把文件当作完整清单：删除文件中没有的记录。")
@click.option("--json", "as_json", is_flag=True, help="在标准输出打印一个 JSON 报告。")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False, writable=True),
              help="把错误工作簿（原表逐行标出问题）写到这个 .xlsx 文件。")
def import_(slug, file, dry_run, valid_only, complete, as_json, errors_out):
    """导入 .xlsx、.xls 或 .csv 文件。退出状态：0 无错误，1 有行错误，2 文件无法读取。"""
    from .sheets.engine import ImportRefused, StalePlan, UnreadableFile, apply_plan, build_plan
    from .sheets.reader import Limits
    sheet = _sheet(slug)
    with open(file, "rb") as fh:
        data = fh.read()
    limits = Limits(max_bytes=current_app.config["QINGDAN_MAX_UPLOAD_BYTES"],
                    max_rows=current_app.config["QINGDAN_MAX_ROWS"])
    try:
        plan = build_plan(sheet, data, file, session=db.session, complete=complete,
                          valid_only=valid_only, limits=limits, progress=_progress())
    except UnreadableFile as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc)}, ensure_ascii=False))
        else:
            click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    if errors_out and (plan.errors or plan.warnings):
        from .sheets.errorbook import write_errorbook
        write_errorbook(plan, errors_out)
        click.echo(f"错误工作簿已写入 {errors_out}", err=True)
    written = False
    refused = None
    if not dry_run and plan.writable:
        try:
            apply_plan(plan, session=db.session, source="cli", data=data,
                       progress=_progress())
            written = True
        except (StalePlan, ImportRefused) as exc:
            refused = str(exc)
    report = plan.report(dry_run=dry_run, written=written)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_report(plan, report, refused)
    sys.exit(1 if plan.errors or refused else 0)


def _progress():
    """The engine's progress on stderr, for someone watching a terminal (not in scripts)."""
    if not sys.stderr.isatty():
        return None
    labels = {"read": "读取", "check": "检查", "write": "写入"}
    last = []

    def report(phase, done, total):
        if total is None or last == [phase, done]:
            return
        last[:] = [phase, done]
        counted = f"第 {done} / {total} 步" if phase == "check" else f"{done:,} / {total:,}"
        click.echo(f"{labels.get(phase, phase)}：{counted}", err=True)
    return report


def _print_report(plan, report, refused) -> None:
    echo = lambda s="": click.echo(s, err=True)  # noqa: E731  (humans read stderr)
    for note in plan.notes:
        echo(f"提示：{note}")
    for issue in plan.errors:
        echo(f"错误：{issue}")
    for issue in plan.warnings:
        echo(f"警告：{issue}")
    echo(f"{plan.sheet.title}：新增 {report['created']}，更新 {report['updated']}，"
         f"无变化 {report['unchanged']}，删除 {report['deleted']}，错误 {len(report['errors'])}，"
         f"警告 {len(report['warnings'])}。")
    if refused:
        echo(refused)
    elif report["written"]:
        echo("已写入数据库。")
    elif report["dry_run"]:
        echo("试运行：未写入。")
    else:
        echo("文件有错误，未写入任何记录（可加 --valid-only 只导入无错误的行）。")


@qingdan_cli.command("init")
def init():
    """同步角色与权限，并按当前字典更新排序键（每次部署后运行一次）。"""
    from . import db
    from .sheets.sorting import refresh_choice_keys
    from .web.security import sync_roles
    sync_roles()
    click.echo("角色与权限已同步。", err=True)
    changed = refresh_choice_keys(db.session)  # a dictionary setting may have changed
    db.session.commit()
    if changed:
        click.echo(f"已按当前字典更新 {changed} 条记录的排序。", err=True)


@qingdan_cli.command("seed")
@click.option("--force", is_flag=True, help="即使已有数据也导入。")
def seed(force):
    """从 seed/ 导入演示数据（通过导入引擎）。"""
    from .seeding import load_seed
    for line in load_seed(force=force):
        click.echo(line, err=True)


def _server_guidance(file: str) -> None:
    """For PostgreSQL and MySQL/MariaDB: their own tools, the exact commands, exit 2."""
    from .backup import server_steps
    url = db.engine.url
    steps = server_steps(url, file)
    if steps is None:
        raise click.ClickException(f"不支持备份 {url.get_backend_name()} 数据库。")
    backup_steps, restore_steps = steps
    postgres = url.get_backend_name() == "postgresql"
    name, tool = ("PostgreSQL", "pg_dump") if postgres else ("MySQL/MariaDB", "mysqldump")
    echo = lambda s="": click.echo(s, err=True)  # noqa: E731
    echo(f"当前数据库是 {name}（{url.render_as_string(hide_password=True)}）："
         f"请用数据库自带的 {tool} 备份与恢复，它们在应用运行时也能得到一致的备份。")
    echo("备份：")
    for step in backup_steps:
        echo(f"  {step}")
    echo("恢复（到一个新的空数据库，核对无误后把 DATABASE_URL 指向它，再重启应用）：")
    for step in restore_steps:
        echo(f"  {step}")
    echo("本命令未执行任何操作。详见 README 的「备份与恢复」。")
    sys.exit(2)


@qingdan_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="覆盖已有的同名文件。")
def backup(file, force):
    """备份内置的 SQLite 数据库到 FILE（应用运行时也可执行）。

    PostgreSQL、MySQL/MariaDB：打印 pg_dump / mysqldump 的命令（退出状态 2）。"""
    from pathlib import Path

    from .backup import BackupRefused, backup_sqlite, sqlite_file
    try:
        database = sqlite_file(db.engine.url)
        if database is None:
            _server_guidance(file)
        revision = backup_sqlite(database, Path(file), force=force)
    except BackupRefused as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    size = Path(file).stat().st_size
    click.echo(f"已备份「{database}」到「{file}」（{size / 1024 / 1024:.1f} MB，"
               f"数据库版本 {revision}）。", err=True)


@qingdan_cli.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="覆盖已有数据的数据库（请先停止所有正在运行的 qingdan 进程）。")
def restore(file, force):
    """用 FILE（qingdan backup 生成的备份）恢复内置的 SQLite 数据库。

    PostgreSQL、MySQL/MariaDB：打印 pg_restore / mysql 的命令（退出状态 2）。"""
    from pathlib import Path

    from alembic.script import ScriptDirectory

    from . import MIGRATIONS_DIR
    from .backup import BackupRefused, restore_sqlite, sqlite_file
    scripts = ScriptDirectory(MIGRATIONS_DIR)
    known = {s.revision for s in scripts.walk_revisions()}
    try:
        database = sqlite_file(db.engine.url)
        if database is None:
            _server_guidance(file)
        db.session.remove()
        db.engine.dispose()  # this process holds no connection to the file it replaces
        revision = restore_sqlite(Path(file), database, known=known, force=force)
    except BackupRefused as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已用「{file}」恢复「{database}」（数据库版本 {revision}）。", err=True)
    if revision not in scripts.get_heads():
        click.echo("备份来自较早的程序版本：请运行 `flask --app app db upgrade` 升级数据库，"
                   "再启动应用。", err=True)


def register_commands(app) -> None:
    app.cli.add_command(lists_cli)
    app.cli.add_command(qingdan_cli)
