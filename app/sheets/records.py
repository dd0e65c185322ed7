"""Single-record commands: create, update, delete and restore one record of a list.

Every write of one record — a form on a screen, an API call, a restore from the history —
is one of these, and each goes the same way:

    draft (the record built from its source, with what could not be read)
      → derive → check: rules, key, unique columns, locks (app/sheets/checking.py, the
        importer's own steps over a batch of one), version, children (for a deletion)
      → write → the change on the audit trail (who, when, from where, old → new, reason)

Each command owns its transaction: it commits, or rolls back and says why in Chinese. It
returns a Result (the record, its new version, the warnings, the problems); the edges only
map the problems to field errors or HTTP statuses. Superset's commands are the model.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from .. import audit
from ..audit import Actor
from ..models import Change, now, stamps
from . import checking
from .declare import Problem, Sheet, error, sheets
from .rows import Issue, RowPlan, describe_key, stored_values
from .snapshots import record_from_snapshot, snapshot

MISSING = "这条记录不存在，可能已被删除：请从列表重新进入。"
STALE = "这条记录已被他人修改，本次修改未保存：请刷新后重新编辑。"
CONFLICT = "与已有记录重复（可能有人同时录入了相同的记录），未保存：请核对编号等不能重复的项目后重试。"
REFERENCED = "这条记录仍被其他记录引用，不能删除：请先处理引用它的记录。"


@dataclass
class Draft:
    """A record on its way in: values by field (parents as instances) as read from the
    source, and the problems of what could not be read."""
    values: dict
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Result:
    """What a command did: the record (None when refused or deleted), its version, the
    warnings (they do not block) and the problems (they do)."""
    record: object | None = None
    version: int | None = None
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    stale: bool = False      # refused: the record changed since the version the caller had
    written: bool = False    # False also when an update changed nothing

    @property
    def ok(self) -> bool:
        return not self.problems


def _refused(session: Session, *messages: str, stale: bool = False, version=None,
             problems: list[Problem] | None = None, warnings=None) -> Result:
    session.rollback()
    return Result(problems=[*(problems or []), *(error(None, m) for m in messages)],
                  stale=stale, version=version, warnings=list(warnings or []))


def _row(sheet: Sheet, action: str, record: dict, draft_problems=(), obj=None) -> RowPlan:
    """The record as a batch of one, for the importer's checking steps."""
    r = RowPlan(sheet="", row=0, action=action, record=dict(record))
    for p in draft_problems:
        r.issues.append(Issue("", 0, sheet.label(p.field) if p.field else "", "", p.message,
                              p.warning, p.field))
    if obj is not None:
        r.existing_id, r.existing_version = obj.id, obj.version
        r.stored = stored_values(sheet, obj)
    return r


def _check(session: Session, sheet: Sheet, r: RowPlan, actor: Actor) -> None:
    """derive → rules → key → unique columns → locks: the importer's steps, on one row."""
    checking.check_rules(sheet, [r], hide=not actor.see_ids)
    if r.errors:
        return
    checking.match_keys(sheet, [r], session, mask=actor.mask)
    checking.refuse_taken_key(sheet, r, mask=actor.mask)
    checking.check_unique(sheet, [r], session, {c.field for c in sheet.stored},
                          mask=actor.mask)
    checking.check_locked(sheet, [r], session)


def _problems(r: RowPlan) -> tuple[list[Problem], list[Problem]]:
    as_problem = [Problem(i.field, i.message, i.warning) for i in r.issues]
    return [p for p in as_problem if not p.warning], [p for p in as_problem if p.warning]


def _references(sheet: Sheet, record: dict) -> list[str]:
    """The parents a write sets, and the links (Sheet.links) the record gives: a write that
    does not name a link (an import, the API) leaves it as stored."""
    return [*sheet.relations, *(name for name in sheet.links if name in record)]


def _assign(obj, values: dict, names=None) -> None:
    for name in values if names is None else names:
        setattr(obj, name, values.get(name))


def _finish(session: Session, sheet: Sheet, obj, action: str, before, actor: Actor,
            warnings, on, label: str, version: int | None = None) -> Result:
    """Flush the write, put it on the trail, commit. `version`: the one a re-created record
    goes on with (the ORM starts every insert at 1)."""
    try:
        session.flush()
    except StaleDataError:
        return _refused(session, STALE, stale=True)
    except IntegrityError:
        return _refused(session, REFERENCED if action == "delete" else CONFLICT)
    if version is not None:
        table = sheet.model.__table__
        session.execute(sa_update(table).where(table.c.id == obj.id).values(version=version))
        set_committed_value(obj, "version", version)
    after = snapshot(obj) if action != "delete" else None
    version = obj.version if action != "delete" else None
    audit.write_changes(session, [audit.change_row(
        sheet.slug, obj.id, action, before, after, actor, record_key=label,
        version_after=version, on=on,
        summary=f"恢复到第 {actor.restored_version} 版" if actor.restored_version else None)])
    session.commit()
    return Result(record=obj if action != "delete" else None, version=version,
                  warnings=list(warnings), written=True)


# ---------------------------------------------------------------------------- commands
def create(session: Session, sheet: Sheet, draft: Draft, actor: Actor, *,
           record_id: int | None = None, version: int | None = None) -> Result:
    """A new record (a restore brings a deleted one back under its old id and next version)."""
    r = _row(sheet, "create", draft.values, draft.problems)
    _check(session, sheet, r, actor)
    problems, warnings = _problems(r)
    if problems:
        return _refused(session, problems=problems, warnings=warnings)
    obj = sheet.model()
    if record_id is not None:
        obj.id = record_id
    on = now()
    _assign(obj, r.record, [c.field for c in sheet.stored] + _references(sheet, r.record))
    _assign(obj, stamps(actor.user_id, on, created=True))
    audit.recorded(session, obj)
    session.add(obj)
    return _finish(session, sheet, obj, "create", None, actor, warnings, on, r.label, version)


def update(session: Session, sheet: Sheet, record_id: int, draft: Draft, actor: Actor, *,
           version: int | None = None, dry_run: bool = False) -> Result:
    """Change a record: the draft's fields replace the stored ones (fields it does not name
    stay). `version`: the one the caller read; another one is refused as stale.
    dry_run: every check, nothing written (a bulk edit's preview); `written` then says
    whether the record would change."""
    obj = session.get(sheet.model, record_id, populate_existing=True)
    if obj is None:
        return _refused(session, MISSING)
    if version is not None and obj.version != version:
        return _refused(session, STALE, stale=True, version=obj.version)
    r = _row(sheet, "update", {**stored_values(sheet, obj), **draft.values}, draft.problems,
             obj)
    _check(session, sheet, r, actor)
    problems, warnings = _problems(r)
    if problems:
        return _refused(session, problems=problems, warnings=warnings, version=obj.version)
    changes = checking.changed_fields(sheet, obj, r.record,
                                      [c.field for c in sheet.stored], _references(sheet, r.record))
    if dry_run:
        session.rollback()
        return Result(record=obj, version=obj.version, warnings=warnings, written=bool(changes))
    if not changes:
        session.rollback()
        return Result(record=obj, version=obj.version, warnings=warnings)
    before, on = snapshot(obj), now()
    _assign(obj, r.record, changes)
    _assign(obj, stamps(actor.user_id, on, created=False))
    audit.recorded(session, obj)
    return _finish(session, sheet, obj, "update", before, actor, warnings, on, r.label)


def delete(session: Session, sheet: Sheet, record_id: int, actor: Actor, *,
           version: int | None = None) -> Result:
    """Remove a record — not while it is locked, nor while other records name it."""
    obj = session.get(sheet.model, record_id, populate_existing=True)
    if obj is None:
        return _refused(session, MISSING)
    if version is not None and obj.version != version:
        return _refused(session, STALE, stale=True, version=obj.version)
    r = _row(sheet, "delete", stored_values(sheet, obj), obj=obj)
    r.label = describe_key(sheet, r.record)
    checking.check_locked(sheet, [r], session)
    blockers = checking.child_blockers(sheet, [obj.id], session).get(obj.id)
    if blockers and not r.errors:
        shown = checking.shown_label(sheet, r.label, actor.mask)
        r.refuse(checking.children_block(shown, blockers))
    problems, _warnings = _problems(r)
    if problems:
        return _refused(session, problems=problems)
    before = snapshot(obj)
    audit.recorded(session, obj)
    session.delete(obj)
    return _finish(session, sheet, obj, "delete", before, actor, (), now(), r.label)


def restore(session: Session, change_id: int, actor: Actor) -> Result:
    """Bring a record back to the version a history entry shows (a deleted record: as it was
    when deleted), through the same checks: refused when the rules, keys or locks no longer
    allow it. Recorded as 恢复, with the version brought back."""
    change = session.get(Change, change_id)
    sheet = sheets.get(change.slug) if change is not None else None
    if change is None or sheet is None:
        return _refused(session, "找不到要恢复的历史版本：请从记录的变更记录重新进入。")
    audit.complete_creations(session, [change])
    snap = change.before if change.action == "delete" else change.after
    shown = change.version_after if change.action != "delete" else (snap or {}).get("version")
    record, problems = record_from_snapshot(sheet, snap or {}, session)
    actor = replace(actor, source=audit.RESTORE, restored_version=shown)
    exists = session.get(sheet.model, change.record_id, populate_existing=True) is not None
    if exists and change.id < (session.scalar(
            select(audit.history_start(change.slug, change.record_id))) or 0):
        return _refused(session, "这一版本属于一条已删除的记录，它的编号已由后来新增的另一条记录"
                                 "使用，无法按原编号恢复：如仍需要，请按这一版本的内容重新录入。")
    if not exists:
        return create(session, sheet, Draft(record, problems), actor, record_id=change.record_id,
                      version=_last_version(session, change) + 1)
    result = update(session, sheet, change.record_id, Draft(record, problems), actor)
    if result.ok and not result.written:
        return _refused(session, f"这条记录现在的内容与第 {shown} 版相同，无需恢复。",
                        version=result.version)
    return result


def _last_version(session: Session, change: Change) -> int:
    """The highest version a record had, by its history (a restored record goes on from it)."""
    rows = session.execute(select(Change.version_after, Change.before).where(
        Change.slug == change.slug, Change.record_id == change.record_id)).all()
    return max([v or 0 for v, _b in rows] + [(b or {}).get("version") or 0 for _v, b in rows])
