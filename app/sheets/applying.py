"""Writing an import plan, in one transaction, as set-at-a-time statements:

    locks (Sheet.locked) → lock and compare versions → the batch → insert the new → update the changed
    → delete the removed → the trail (in bulk, the same columns as every other path)

Each step goes a chunk at a time (WRITE_CHUNK rows: their values, their statement, their trail
rows), so memory stays flat however large the file: the new records are one
`INSERT … RETURNING id, <key>` per chunk (ids matched back by key, whatever order a database
returns them in), stored records are read as Core rows, never as ORM objects. After a large
write the tables' statistics are refreshed (`analyze`): the planner must know that a table
it thought empty has 100,000 rows before the next import looks keys up in it.

`apply_plan` raises StalePlan (nothing written) when the records changed since the plan.
"""
from __future__ import annotations

import logging
from collections import defaultdict

from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..audit import IMPORT, Actor, change_row, write_changes
from ..models import Change, ImportBatch, ImportFile, now, stamps
from . import bulk
from . import keys as k
from .checking import lock_reasons, written_records
from .declare import Sheet
from .rows import RowPlan, fk_column, in_chunks, json_value, key_attr, plan_settled
from .snapshots import row_snapshot, snapshot_columns
from .sorting import sort_values

log = logging.getLogger(__name__)

WRITE_CHUNK = 2000     # rows per step of the writing (values, statement, trail rows)
ANALYZE_AFTER = 5000   # rows created or deleted from which the statistics are refreshed
_PLAIN = (str, int, float, bool, type(None))  # JSON as they are (json_value: the others)


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
    with plan_settled():  # the plan's rows are not gone over by the collector
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
            writer = _Writer(sheet, plan)
            _insert_created(writer, creates, session, actor, stamp)
            report("write", len(creates), total)
            _write_updated(writer, updates, session, actor, stamp)
            report("write", len(creates) + len(updates), total)
            _delete_removed(sheet, deletes, session, actor, stamp)
            report("write", total, total)
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise StalePlan("写入时与数据库中已有的记录冲突（可能有人同时录入了相同的记录）："
                            "未导入任何记录，请重新预览后再确认。") from exc
        except Exception:
            session.rollback()
            raise
        if len(creates) + len(deletes) >= ANALYZE_AFTER:
            analyze(session, [sheet.model.__table__, Change.__table__])
        session.expire_all()
        return batch


def analyze(session: Session, tables) -> None:
    """Refresh the planner's statistics of these tables, in a transaction of its own (after
    the write's commit). Only an optimisation: a failure is logged, not raised."""
    dialect = session.get_bind().dialect.name
    try:
        if dialect == "sqlite":
            # A bounded sample of each index: ANALYZE would otherwise read them whole.
            session.execute(text("PRAGMA analysis_limit=1000"))
        for table in tables:
            name = session.get_bind().dialect.identifier_preparer.format_table(table)
            if dialect in ("mysql", "mariadb"):
                session.execute(text(f"ANALYZE TABLE {name}")).all()
            else:
                session.execute(text(f"ANALYZE {name}"))
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        log.warning("ANALYZE failed after a large import", exc_info=True)


class _Writer:
    """What a row writes (row_values), the declaration read once: Sheet.stored and
    Sheet.relations are computed on each access, and an import asks for every row."""

    def __init__(self, sheet: Sheet, plan):
        self.sheet, self.plan = sheet, plan
        self.fields = [c.field for c in sheet.stored]
        self.relations = [(fk_column(sheet.model, rel)[0].key, rel, [c.field for c in cols])
                          for rel, cols in sheet.relations.items()]
        self._fields: dict[tuple, tuple[list, list]] = {}

    def values(self, r: RowPlan) -> dict:
        present = self.plan.present_fields if r.action == "create" else r.headers
        record = r.record
        fields, relations = self._written_fields(present, r.derived)
        out = {f: record.get(f) for f in fields}
        for fk, rel in relations:
            parent = record.get(rel)
            out[fk] = parent.id if parent is not None else None
        return out

    def _written_fields(self, present, derived) -> tuple[list, list]:
        """The fields and relations a row writes, for the columns present (the file's; a
        sheet's headers: shared by its rows) and the fields derived: the same for most rows."""
        key = (id(present), derived if isinstance(derived, frozenset) else frozenset(derived))
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = (
                [f for f in self.fields if f in present or f in derived],
                [(fk, rel) for fk, rel, fields in self.relations
                 if any(f in present for f in fields)])
        return found

    def written(self, r: RowPlan) -> dict:
        """values and the sort keys of its texts (app/sheets/sorting.py), which the trail
        does not keep."""
        values = self.values(r)
        return {**values, **sort_values(self.sheet, values)}


def row_values(sheet: Sheet, plan, r: RowPlan) -> dict:
    """Column values to write for a row: only the columns the file has (for an update, the
    columns of the row's own sheet: another sheet may have more)."""
    return _Writer(sheet, plan).values(r)


def _as_json(values: dict, skip=()) -> dict:
    return {name: val if isinstance(val, _PLAIN) else json_value(val)
            for name, val in values.items() if name not in skip}


def _lock_and_compare(sheet: Sheet, rows: list[RowPlan], session: Session) -> None:
    """Lock the rows to be changed and check they are as previewed."""
    table = sheet.model.__table__
    touched = {r.existing_id: r.existing_version for r in rows}
    for chunk in k.id_chunks(session, list(touched)):
        current = dict(session.execute(select(table.c.id, table.c.version)
                                       .where(k.ids_in(session, table.c.id, chunk))
                                       .with_for_update()).all())
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


def _insert_created(writer: _Writer, creates: list[RowPlan], session: Session,
                    actor: Actor, stamp) -> None:
    """The new records, a chunk at a time (app/sheets/bulk.py: through the driver, ids
    given back in order), and the chunk's trail rows: each a creation without "after", the
    record being its own (audit.complete_creations gives it to whoever reads the trail)."""
    if not creates:
        return
    sheet = writer.sheet
    table = sheet.model.__table__
    created = stamps(actor.user_id, stamp, created=True)
    for chunk in in_chunks(creates, WRITE_CHUNK):
        params = [{**writer.written(r), "version": 1, **created} for r in chunk]
        if bulk.takes_ids(session):
            ids = bulk.insert_rows(session, table, params, ids=True)
        else:
            ids = _returned_ids(sheet, session, params, chunk)
        del params
        trail = []
        for r, rid in zip(chunk, ids):
            r.existing_id = rid
            trail.append(change_row(sheet.slug, rid, "create", None, None, actor,
                                    record_key=r.label, version_after=1, on=stamp))
        write_changes(session, trail)


def _returned_ids(sheet: Sheet, session: Session, params: list[dict],
                  chunk: list[RowPlan]) -> list[int]:
    """MariaDB/MySQL: INSERT … RETURNING id and the key, the ids matched back by key, else by
    match key: the batch has each once (checking.match_keys), and a database may hand a
    value back in another form than it was given (a collation)."""
    table = sheet.model.__table__
    key_columns = [table.c[key_attr(sheet, name).key] for name in sheet.key]
    result = session.execute(insert(table).returning(table.c.id, *key_columns), params)
    ids = {tuple(row[1:]): row[0] for row in result}
    if len(ids) != len(chunk) or any(r.key not in ids for r in chunk):
        ids = {k.match_key(key): rid for key, rid in ids.items()}
        ids.update((r.key, ids[k.match_key(r.key)]) for r in chunk)
    return [ids[r.key] for r in chunk]


def _befores(session: Session, model, ids: list[int]) -> dict[int, dict]:
    """id -> the record's snapshot as stored now (Core rows, a chunk of ids at a time)."""
    columns = snapshot_columns(model)
    out = {}
    for chunk in k.id_chunks(session, ids):
        for row in session.execute(select(*columns)
                                   .where(k.ids_in(session, model.__table__.c.id, chunk))):
            out[row.id] = row_snapshot(row)
    return out


def _write_updated(writer: _Writer, updates: list[RowPlan], session: Session,
                   actor: Actor, stamp) -> None:
    sheet = writer.sheet
    table = sheet.model.__table__
    changed = stamps(actor.user_id, stamp, created=False)
    for chunk in in_chunks(updates, WRITE_CHUNK):
        befores = _befores(session, sheet.model, [r.existing_id for r in chunk])
        # One executemany per set of columns written.
        groups: dict[tuple, list[tuple[RowPlan, dict]]] = defaultdict(list)
        for r in chunk:
            values = writer.written(r)
            groups[tuple(sorted(values))].append((r, values))
        for names, group in groups.items():
            stmt = (update(table).where(table.c.id == bindparam("_id"))
                    .values({**{n: bindparam("_" + n) for n in names},
                             "version": table.c.version + 1, **changed}))
            session.execute(stmt, [{"_id": r.existing_id,
                                    **{"_" + n: val for n, val in values.items()}}
                                   for r, values in group])
        trail = []
        for r in chunk:
            before = befores[r.existing_id]
            after = dict(before, **_as_json(writer.values(r)))
            after["version"] = r.existing_version + 1
            trail.append(change_row(sheet.slug, r.existing_id, "update", before, after, actor,
                                    record_key=r.label, version_after=r.existing_version + 1,
                                    on=stamp))
        write_changes(session, trail)


def _delete_removed(sheet: Sheet, deletes: list[RowPlan], session: Session, actor: Actor,
                    stamp) -> None:
    table = sheet.model.__table__
    labels = {r.existing_id: r.label for r in deletes}
    for chunk in in_chunks([r.existing_id for r in deletes], WRITE_CHUNK):
        befores = _befores(session, sheet.model, chunk)
        write_changes(session, [change_row(sheet.slug, rid, "delete", before, None, actor,
                                           record_key=labels.get(rid, ""), on=stamp)
                                for rid, before in befores.items()])
        for ids in k.id_chunks(session, chunk):
            session.execute(delete(table).where(k.ids_in(session, table.c.id, ids)))
