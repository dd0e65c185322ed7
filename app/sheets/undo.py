"""Taking an import back: remove what it created, restore what it changed or deleted — unless
a record is locked now or changed since (then nothing is done). Written in one transaction
and recorded on the trail (source 撤销导入, with the batch)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import IMPORT, UNDO, Actor, change_row, complete_creations, write_changes
from ..models import Change, ImportBatch, now, stamps
from . import keys as k
from .applying import ANALYZE_AFTER, analyze
from .declare import sheets
from .snapshots import label_from_snapshot, restore_value
from .sorting import sort_values


class UndoRefused(Exception):
    pass


def undo_batch(batch_id: int, *, session: Session, user_id: int | None = None) -> ImportBatch:
    """Take an import back: remove what it created, restore what it changed or deleted —
    unless something changed those records since (then nothing is done)."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise UndoRefused(f"导入批次 {batch_id} 不存在")
    if batch.undone:
        raise UndoRefused(f"导入批次 {batch_id} 已于 {batch.undone_on:%Y-%m-%d %H:%M} 撤销过")
    sheet = sheets[batch.slug]
    changes = session.scalars(select(Change).where(Change.batch_id == batch.id,
                                                   Change.source == IMPORT)
                              .order_by(Change.id)).all()
    complete_creations(session, changes)  # before any is removed: the records as created
    try:
        _refuse_locked(sheet, changes, session)
        _refuse_changed_since(sheet, changes, session)
    except UndoRefused:
        session.rollback()
        raise
    stamp = now()
    actor = Actor(user_id=user_id, source=UNDO, batch_id=batch.id)
    try:
        log, created = [], []
        for c in reversed(changes):
            if c.action == "create":  # removed together, a chunk of ids per statement
                created.append(c)
                continue
            log += _remove_created(sheet, created, session, actor, stamp)
            created = []
            log.append(_take_back(sheet, c, session, actor, stamp))
        log += _remove_created(sheet, created, session, actor, stamp)
        write_changes(session, log)
        batch.undone, batch.undone_on, batch.undone_by_fk = True, stamp, user_id
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise UndoRefused("撤销未执行：本批次新增的记录已被其他清单引用（例如已有下属的证书或责任事项），"
                          "或被删除的记录已重新录入，请先处理这些记录。") from exc
    if len(changes) >= ANALYZE_AFTER:
        analyze(session, [sheet.model.__table__, Change.__table__])
    session.expire_all()
    return batch


@dataclass
class UndoPreview:
    """What undoing an import would do, as its confirmation page says it."""
    batch: ImportBatch
    removed: int     # records the import created: deleted again
    restored: int    # records it changed: given back their values from before it
    recreated: int   # records it deleted: brought back
    refused: str | None  # why the undo would be refused now (None: it would go through)

    @property
    def total(self) -> int:
        return self.removed + self.restored + self.recreated


def undo_preview(batch_id: int, *, session: Session) -> UndoPreview | None:
    """The counts of what `undo_batch` would take back, and whether it would be refused now
    (the same checks, in a transaction rolled back: nothing is written). None: no batch."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return None
    mine = (Change.batch_id == batch.id, Change.source == IMPORT)
    counts = dict(session.execute(select(Change.action, func.count()).where(*mine)
                                  .group_by(Change.action)).all())
    refused = None
    if batch.undone:
        refused = f"导入批次 {batch_id} 已于 {batch.undone_on:%Y-%m-%d %H:%M} 撤销过"
    else:
        changes = session.scalars(select(Change).where(*mine).order_by(Change.id)).all()
        complete_creations(session, changes)
        try:
            _refuse_locked(sheets[batch.slug], changes, session)
            _refuse_changed_since(sheets[batch.slug], changes, session)
        except UndoRefused as exc:
            refused = str(exc)
        finally:
            session.rollback()  # the checks' locks, nothing else
        batch = session.get(ImportBatch, batch_id)
    return UndoPreview(batch, counts.get("create", 0), counts.get("update", 0),
                       counts.get("delete", 0), refused)


def _refuse_locked(sheet, changes: list[Change], session: Session) -> None:
    if sheet.locked is None:
        return
    snapshots = [s for c in changes for s in (c.before, c.after) if s]
    locked = next(filter(None, sheet.lock_reasons(session, snapshots)), None)
    if locked:
        raise UndoRefused(f"撤销未执行：本次导入涉及的记录现在不能修改。{locked}")


def _refuse_changed_since(sheet, changes: list[Change], session: Session) -> None:
    table = sheet.model.__table__
    current: dict[int, int] = {}
    for chunk in k.id_chunks(session, [c.record_id for c in changes]):
        current.update(session.execute(select(table.c.id, table.c.version)
                                       .where(k.ids_in(session, table.c.id, chunk))
                                       .with_for_update()).all())
    conflicts = [c for c in changes
                 if (c.record_id in current if c.action == "delete"
                     else current.get(c.record_id) != c.version_after)]
    if conflicts:
        names = [label_from_snapshot(sheet, c.after or c.before or {}, session)
                 or f"#{c.record_id}" for c in conflicts[:20]]
        more = f" 等 {len(conflicts)} 条" if len(conflicts) > 20 else ""
        raise UndoRefused("以下记录在本次导入之后又被修改或重新录入，为免覆盖他人的修改，"
                          "撤销未执行：" + "；".join(names) + more)


def _summary(actor: Actor) -> str:
    return f"撤销导入批次 {actor.batch_id}"


def _remove_created(sheet, changes: list[Change], session: Session, actor: Actor,
                    stamp) -> list[dict]:
    """Delete the records these creations made; their rows on the trail."""
    table = sheet.model.__table__
    for chunk in k.id_chunks(session, [c.record_id for c in changes]):
        session.execute(delete(table).where(k.ids_in(session, table.c.id, chunk)))
    return [change_row(sheet.slug, c.record_id, "delete", c.after, None, actor,
                       record_key=c.record_key, on=stamp, summary=_summary(actor))
            for c in changes]


def _take_back(sheet, c: Change, session: Session, actor: Actor, stamp) -> dict:
    """Write the reverse of one change (an update or a deletion); its row on the trail."""
    table = sheet.model.__table__
    summary = _summary(actor)
    if c.action == "update":
        values = {k: restore_value(sheet, k, val) for k, val in c.before.items()
                  if k not in ("id", "version")}
        values.update(sort_values(sheet, values))  # the trail keeps no sort keys
        version = c.version_after + 1
        session.execute(update(table).where(table.c.id == c.record_id)
                        .values({**values, "version": version,
                                 **stamps(actor.user_id, stamp, created=False)}))
        return change_row(sheet.slug, c.record_id, "update", c.after,
                          dict(c.before, version=version), actor, record_key=c.record_key,
                          version_after=version, on=stamp, summary=summary)
    values = {k: restore_value(sheet, k, val) for k, val in c.before.items()}
    values.update(sort_values(sheet, values))
    values["version"] = values.get("version", 1) + 1
    session.execute(insert(table).values({**values, **stamps(actor.user_id, stamp,
                                                             created=True)}))
    return change_row(sheet.slug, c.record_id, "create", None,
                      dict(c.before, version=values["version"]), actor,
                      record_key=c.record_key, version_after=values["version"], on=stamp,
                      summary=summary)
