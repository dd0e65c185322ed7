"""Writing an import plan, in one transaction, as set-at-a-time statements:

    locks (Sheet.locked) → lock and compare versions → the batch → insert the new → update the changed
    → delete the removed → the trail (in bulk, the same columns as every other path)

`apply_plan` raises StalePlan (nothing written) when the records changed since the plan.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import IMPORT, Actor, change_row, write_changes
from ..models import STAMP_FIELDS, ImportBatch, ImportFile, now, stamps
from .checking import lock_reasons, written_records
from .declare import Sheet
from .rows import RowPlan, fk_column, in_chunks, json_value, key_attr, where_in
from .snapshots import snapshot
from .sorting import key_names, sort_values


class StalePlan(Exception):
    """The records changed after the preview: preview again."""


class ImportRefused(Exception):
    """The plan has errors and the clerk did not ask for the valid rows only."""


def apply_plan(plan, *, session: Session, user_id: int | None = None,
               source: str = "web", data: bytes | None = None, progress=None) -> ImportBatch:
    """Write the plan in one transaction and record it as a batch. Raises StalePlan when
    the records changed since the plan was made (nothing is written then).

    `progress(phase, done, total)`, if given, hears ("write", records written, records to
    write) before the first write and after each kind of write (inside the transaction)."""
    if not plan.writable:
        raise ImportRefused("文件有错误，未导入任何记录：请修正后重新上传，或选择“只导入无错误的行”。")
    sheet = plan.sheet
    creates = [r for r in plan.rows if r.action == "create"]
    updates = [r for r in plan.rows if r.action == "update"]
    deletes = [r for r in plan.deletions if r.action == "delete"]
    stamp = now()
    total = len(creates) + len(updates) + len(deletes)
    report = progress or (lambda phase, done, total: None)
    report("write", 0, total)
    try:
        # Locks first, in this transaction (Sheet.locked locks what it answers for: a review
        # batch being approved meanwhile is waited for, then refuses), then the versions.
        locked = next(filter(None, lock_reasons(
            sheet, written_records(creates + updates + deletes), session)), None)
        if locked:
            raise ImportRefused(f"未导入任何记录：{locked}")
        _lock_and_compare(sheet, updates + deletes, session)
        batch = _new_batch(plan, session, user_id=user_id, source=source, data=data,
                           stamp=stamp, updated=len(updates), deleted=len(deletes))
        actor = Actor(user_id=user_id, source=IMPORT, batch_id=batch.id)
        changes = _insert_created(sheet, plan, creates, session, actor, stamp)
        report("write", len(creates), total)
        changes += _write_updated(sheet, plan, updates, session, actor, stamp)
        report("write", len(creates) + len(updates), total)
        changes += _delete_removed(sheet, deletes, session, actor, stamp)
        write_changes(session, changes)
        report("write", total, total)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise StalePlan("写入时与数据库中已有的记录冲突（可能有人同时录入了相同的记录）："
                        "未导入任何记录，请重新预览后再确认。") from exc
    except Exception:
        session.rollback()
        raise
    session.expire_all()
    return batch


def row_values(sheet: Sheet, plan, r: RowPlan) -> dict:
    """Column values to write for a row: only the columns the file has (for an update, the
    columns of the row's own sheet: another sheet may have more)."""
    present = plan.present_fields if r.action == "create" else r.headers
    out = {c.field: r.record.get(c.field) for c in sheet.stored
           if c.field in present or c.field in r.derived}
    for rel in sheet.relations:
        if any(c.field in present for c in sheet.relations[rel]):
            attr, _ = fk_column(sheet.model, rel)
            parent = r.record.get(rel)
            out[attr.key] = parent.id if parent is not None else None
    return out


def _written(sheet: Sheet, plan, r: RowPlan) -> dict:
    """row_values and the sort keys of its texts (app/sheets/sorting.py), which the trail
    does not keep."""
    values = row_values(sheet, plan, r)
    return {**values, **sort_values(sheet, values)}


def _lock_and_compare(sheet: Sheet, rows: list[RowPlan], session: Session) -> None:
    """Lock the rows to be changed and check they are as previewed."""
    table = sheet.model.__table__
    touched = {r.existing_id: r.existing_version for r in rows}
    for chunk in in_chunks(list(touched)):
        current = dict(session.execute(select(table.c.id, table.c.version)
                                       .where(table.c.id.in_(chunk)).with_for_update()).all())
        if any(current.get(rid) != touched[rid] for rid in chunk):
            raise StalePlan("预览之后这些记录已被他人修改：请重新预览后再确认导入。")


def _new_batch(plan, session: Session, *, user_id, source, data, stamp, updated,
               deleted) -> ImportBatch:
    sheet = plan.sheet
    batch = ImportBatch(slug=sheet.slug, list_title=sheet.title, created_by_fk=user_id,
                        source=source, file_name=plan.file_name[:255],
                        file_size=plan.file_size, sha256=plan.sha256,
                        options={"complete": plan.complete, "valid_only": plan.valid_only},
                        created=plan.count("create"), updated=updated,
                        unchanged=plan.count("unchanged"), deleted=deleted,
                        errors=len(plan.errors), created_on=stamp)
    if data is not None:
        batch.file = ImportFile(content=data)
    session.add(batch)
    session.flush()
    return batch


def _insert_created(sheet: Sheet, plan, creates: list[RowPlan], session: Session,
                    actor: Actor, stamp) -> list[dict]:
    if not creates:
        return []
    table = sheet.model.__table__
    params = [{**_written(sheet, plan, r), "version": 1,
               **stamps(actor.user_id, stamp, created=True)} for r in creates]
    session.execute(insert(table), params)
    # Ids by key afterwards, in bulk: RETURNING in parameter order is row-at-a-time on some
    # databases.
    cols = [table.c[key_attr(sheet, k).key] for k in sheet.key]
    ids: dict[tuple, int] = {}
    for chunk in in_chunks([r.key for r in creates]):
        for row in session.execute(select(table.c.id, *cols).where(where_in(cols, chunk))):
            ids[tuple(row[1:])] = row[0]
    out, keys = [], key_names(sheet)
    for r, p in zip(creates, params):
        r.existing_id = ids[r.key]
        after = {k: json_value(val) for k, val in p.items()
                 if k not in STAMP_FIELDS and k not in keys}
        after["id"] = r.existing_id
        out.append(change_row(sheet.slug, r.existing_id, "create", None, after, actor,
                              record_key=r.label, version_after=1, on=stamp))
    return out


def _write_updated(sheet: Sheet, plan, updates: list[RowPlan], session: Session,
                   actor: Actor, stamp) -> list[dict]:
    if not updates:
        return []
    model, table = sheet.model, sheet.model.__table__
    befores = {o.id: snapshot(o) for chunk in in_chunks([r.existing_id for r in updates])
               for o in session.scalars(select(model).where(model.id.in_(chunk)))}
    # One executemany per set of columns written.
    groups: dict[tuple, list[RowPlan]] = defaultdict(list)
    for r in updates:
        groups[tuple(sorted(_written(sheet, plan, r)))].append(r)
    for names, group in groups.items():
        stmt = (update(table).where(table.c.id == bindparam("_id"))
                .values({**{n: bindparam("_" + n) for n in names},
                         "version": table.c.version + 1,
                         **stamps(actor.user_id, stamp, created=False)}))
        session.execute(stmt, [{"_id": r.existing_id,
                                **{"_" + k: val for k, val in _written(sheet, plan, r).items()}}
                               for r in group])
    out = []
    for r in updates:
        before = befores[r.existing_id]
        after = dict(before, **{k: json_value(val)
                                for k, val in row_values(sheet, plan, r).items()})
        after["version"] = r.existing_version + 1
        out.append(change_row(sheet.slug, r.existing_id, "update", before, after, actor,
                              record_key=r.label, version_after=r.existing_version + 1,
                              on=stamp))
    return out


def _delete_removed(sheet: Sheet, deletes: list[RowPlan], session: Session, actor: Actor,
                    stamp) -> list[dict]:
    model, table = sheet.model, sheet.model.__table__
    labels = {r.existing_id: r.label for r in deletes}
    out = []
    for chunk in in_chunks([r.existing_id for r in deletes]):
        for o in session.scalars(select(model).where(model.id.in_(chunk))):
            out.append(change_row(sheet.slug, o.id, "delete", snapshot(o), None, actor,
                                  record_key=labels.get(o.id, ""), on=stamp))
        session.execute(delete(table).where(table.c.id.in_(chunk)))
    return out
