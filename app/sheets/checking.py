"""The checks every write passes, over a batch of rows: an import's many, or the one record of
a form, an API call, a restore. One implementation, in bulk (one query per chunk of keys):

    derive → rules → keys → unique columns → locks (→ children, for a deletion)

The importer (app/sheets/engine.py) and the record commands (app/sheets/records.py) both call
these functions; only what a key match means differs (the importer updates the record that
has the key, a command refuses a key that another record has).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from . import keys as k
from .declare import Col, Sheet, sheets
from .rows import (
    Issue,
    RowPlan,
    describe_key,
    key_attr,
    record_key,
    same_value,
)

Mask = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


# ---------------------------------------------------------------------------- messages
def key_headers(sheet: Sheet, r: RowPlan) -> list[str]:
    """The key's columns, named by the headers the file uses (a form: by their labels)."""
    out = []
    for name in sheet.key:
        if name in sheet.relations:
            out.extend(r.headers.get(c.field, c.header) for c in sheet.relations[name])
        else:
            out.append(r.headers.get(name, sheet.label(name)))
    return out


def _taken(what: str, in_file: str, stored: str, sheet_name, row) -> str:
    """`what` is had by another row of the file (sheet_name/row given) or a stored record."""
    if row is not None:
        return f"{what}{in_file.format(sheet=sheet_name, row=row)}"
    return f"{what}{stored}"


def key_taken(sheet: Sheet, shown: str, *, headers: list[str] | None = None,
              sheet_name: str | None = None, row: int | None = None) -> str:
    """Another record (or, with sheet_name/row, another row of the file) has this key.
    `headers`: the key's columns as the file names them (key_headers)."""
    named = "、".join(f"「{h}」" for h in headers or [sheet.label(n) for n in sheet.key])
    return _taken(f"已有{named}相同的记录（{shown}）",
                  "：与工作表「{sheet}」第 {row} 行重复，同一记录在文件中只能出现一次，"
                  "请删除重复的一行或更正",
                  "：请核对，或到列表中编辑已有的那条记录", sheet_name, row)


def unique_taken(col: Col, shown: str, *, header: str | None = None,
                 sheet_name: str | None = None, row: int | None = None) -> str:
    """Another record (or another row of the file) has this value of a unique column.
    `header`: the column as the file names it."""
    header = header or col.header
    return _taken(f"「{header}」“{shown}”",
                  "与工作表「{sheet}」第 {row} 行重复：「" + header + "」不能重复",
                  "已被另一条记录使用：请核对，或先修改那条记录", sheet_name, row)


def key_ambiguous(sheet: Sheet, shown: str, r: RowPlan) -> str:
    """Several stored records have this row's key but for width, spacing or case."""
    return (f"清单中有 {len(r.matches)} 条记录与「{shown}」只差全角/半角、空格或大小写，"
            "无法确定更新哪一条：请先在清单中合并这些记录")


def children_block(label: str, children: list[str], *, missing: bool = False) -> str:
    """A record that other records still name is not deleted (an import with --complete
    would delete it because the file does not name it: `missing`)."""
    why = "不在文件中，但它还有" if missing else "还有"
    hint = "请先处理这些记录，或不要按完整清单导入" if missing else "请先删除或改挂这些记录"
    return f"「{label}」{why}{'、'.join(children)}记录，不能删除：{hint}"


def _key_is_sensitive(sheet: Sheet) -> bool:
    return any(sheet.column(k).sensitive for k in sheet.key if k not in sheet.relations)


def shown_label(sheet: Sheet, label: str, mask: Mask) -> str:
    """A record's key as a message quotes it: masked when the key is an ID number."""
    return mask(label) if _key_is_sensitive(sheet) else label


# ---------------------------------------------------------------------------- the steps
def check_rules(sheet: Sheet, rows: list[RowPlan], *, hide: bool = False) -> None:
    """Derived values (Sheet.derive), then required fields and rules (Sheet.check). A field
    whose value could not be read is not reported again by a rule. `hide`: for who may not
    see ID numbers, the messages that quote no hidden value (Problem.masked)."""
    for r in rows:
        if sheet.derive is not None:
            before = r.record
            r.record = sheet.derive(dict(before))
            derived = {k for k, val in r.record.items() if before.get(k) != val}
            r.derived = derived or frozenset()  # the shared empty one: most rows derive nothing
        problems = list(sheet.check(r.record))
        if not problems:
            continue  # most rows: nothing more to work out
        unreadable = {i.column for i in r.issues if not i.warning}
        bad_fields = {i.field for i in r.issues if not i.warning and i.field}
        if unreadable:
            bad_fields |= {f for f, h in r.headers.items() if h in unreadable}
        for p in problems:
            if p.field in bad_fields and not p.warning:
                continue  # already reported as an unreadable value
            column = (r.headers.get(p.field) or sheet.label(p.field)) if p.field else ""
            value = r.raw.get(p.field, "") if p.field else ""
            message = p.masked if hide and p.masked else p.message
            r.issues.append(Issue(r.sheet, r.row, column, value, message, p.warning, p.field))


def match_keys(sheet: Sheet, rows: list[RowPlan], session: Session, *,
               mask: Mask = _as_is) -> None:
    """Each row's key (r.key), once in the batch — a repeat is an error — and the stored
    records that have it (r.matches; r.found when there is one), looked up in bulk. Keys
    are compared after normalisation (keys.py): APJ-（沪）-001 is APJ-(沪)-001. Rows with
    errors are not keyed. A match is a Core row of the record's id, version and key
    columns (keys.find_rows), not an ORM object."""
    relations = sheet.relations
    seen: dict[tuple, RowPlan] = {}
    for r in rows:
        r.label = describe_key(sheet, r.record, relations)
        if r.errors:
            continue
        r.key = record_key(sheet, r.record, relations)
        if r.key is None:
            continue
        mk = k.match_key(r.key)
        first = seen.get(mk)
        if first is not None:
            headers = key_headers(sheet, r)
            r.refuse(key_taken(sheet, shown_label(sheet, r.label, mask), headers=headers,
                               sheet_name=first.sheet, row=first.row),
                     sheet.key[-1], column="、".join(headers), value=r.label)
            continue
        seen[mk] = r
    attrs = [key_attr(sheet, name) for name in sheet.key]
    loose = k.is_loose(sheet.column(name).type for name in sheet.key
                       if name not in relations)
    model = sheet.model
    existing = k.find_rows(session, model, attrs, {r.key: mk for mk, r in seen.items()},
                           loose=loose, columns=[model.id, model.version, *attrs])
    for mk, r in seen.items():
        r.matches = k.pick(existing[mk], attrs, r.key) if mk in existing else []
        r.found = r.matches[0] if len(r.matches) == 1 else None


def refuse_taken_key(sheet: Sheet, r: RowPlan, *, mask: Mask = _as_is) -> None:
    """A row that creates a record, or changes one, whose key another stored record has
    (written alike or only in another width, spacing or case)."""
    if any(r.action != "update" or m.id != r.existing_id for m in r.matches):
        r.refuse(key_taken(sheet, shown_label(sheet, r.label, mask)), sheet.key[-1],
                 column=sheet.label(sheet.key[-1]), value=r.label)


def changed_fields(sheet: Sheet, obj, record: dict, fields, relations) -> dict:
    """field -> (stored, new) for the given fields and relations that the record changes."""
    out = {}
    for f in fields:
        old, new = getattr(obj, f), record.get(f)
        if not same_value(old, new):
            out[f] = (old, new)
    for rel in relations:
        old, new = getattr(obj, rel), record.get(rel)
        if old is not new:
            out[rel] = (old, new)
    return out


def changed_columns(stored: dict, record: dict, fields, fks: dict) -> dict:
    """changed_fields for a stored record read as a dict of its columns by name:
    `fks` is relation -> its foreign-key column's name; a changed relation's old side is
    the parent's id (the caller loads the instance if it shows it)."""
    out = {}
    for f in fields:
        old, new = stored[f], record.get(f)
        if old is new or (type(old) is type(new) and old == new):
            continue  # as same_value would say, sooner: most fields of most rows
        if not same_value(old, new):
            out[f] = (old, new)
    for rel, fk in fks.items():
        old, new = stored[fk], record.get(rel)
        if old != (new.id if new is not None else None):
            out[rel] = (old, new)
    return out


def check_unique(sheet: Sheet, rows: list[RowPlan], session: Session, fields,
                 *, mask: Mask = _as_is) -> None:
    """Columns unique apart from the key (专家编号): once in the batch, and not another
    record's; values compared as keys are (keys.py). `fields`: the fields the batch writes."""
    model = sheet.model
    for col in sheet.stored:
        if not col.unique or col.field not in fields:
            continue
        shown = mask if col.sensitive else _as_is
        todo = [r for r in rows if r.action != "error" and r.record.get(col.field)]
        given = [(r.record[col.field],) for r in todo]
        folded = [k.match_key(key) for key in given]  # each value folded once
        owners = k.find_rows(session, model, [getattr(model, col.field)],
                             dict(zip(given, folded)), loose=k.is_loose([col.type]))
        first: dict = {}
        for r, value in zip(todo, folded):
            other = first.get(value)
            if other is None and not any(o.id != r.existing_id
                                         for o in owners.get(value, ())):
                first[value] = r
                continue
            text = shown(col.type.to_text(r.record[col.field]))
            header = r.headers.get(col.field, col.header)
            if other is not None:
                msg = unique_taken(col, text, header=header, sheet_name=other.sheet,
                                   row=other.row)
            else:
                msg = unique_taken(col, text, header=header)
            r.refuse(msg, col.field, column=header, value=r.raw.get(col.field, ""))


def written_records(rows: list[RowPlan]) -> list[tuple[RowPlan, dict]]:
    """What these rows would write, as `Sheet.locked` is asked: a new record, a changed one
    as stored and as it would become, a deleted one."""
    asked: list[tuple[RowPlan, dict]] = []
    for r in rows:
        if r.action == "create":
            asked.append((r, r.record))
        elif r.action == "update":
            asked += [(r, r.stored), (r, {**r.stored, **r.record})]
        elif r.action == "delete":
            asked.append((r, r.record))
    return asked


def lock_reasons(sheet: Sheet, asked: list[tuple[RowPlan, dict]], session: Session) -> list:
    if sheet.locked is None:
        return [None] * len(asked)
    with session.no_autoflush:
        return sheet.lock_reasons(session, [record for _r, record in asked])


def check_locked(sheet: Sheet, rows: list[RowPlan], session: Session) -> None:
    """Rows that would create, change or delete a locked record (a review of a published
    batch) are errors: the record as stored and as it would become are both asked, in bulk."""
    if sheet.locked is None:
        return  # nothing to ask (most lists)
    asked = written_records(rows)
    for (r, _record), reason in zip(asked, lock_reasons(sheet, asked, session)):
        if reason is not None and r.action != "error":
            r.refuse(reason, value=r.label)


def child_blockers(sheet: Sheet, ids: list[int], session: Session) -> dict[int, list[str]]:
    """id -> what still names the record ("3 条「机构资质证书」"): such a record is not
    deleted, even where the ORM would cascade, so that what a deletion removed can always be
    brought back (undo, restore) from this list's own history."""
    blockers: dict[int, list[str]] = defaultdict(list)
    for rel in inspect(sheet.model).relationships:
        if rel.direction.name != "ONETOMANY":
            continue
        (fk,) = rel.remote_side
        child = sheets.for_model(rel.mapper.class_)
        name = child.title if child else rel.key
        for chunk in k.id_chunks(session, ids):
            counts = session.execute(select(fk, func.count())
                                     .where(k.ids_in(session, fk, chunk)).group_by(fk)).all()
            for pid, n in counts:
                blockers[pid].append(f"{n} 条「{name}」")
    return blockers
