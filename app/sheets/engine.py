"""The import pipeline, one for every list, the web wizard and the command line alike.

    read → locate header → normalise cells → check → match keys in bulk → plan → apply

`build_plan` writes nothing; its checking steps are app/sheets/checking.py, the same the
single-record commands run (app/sheets/records.py). `apply_plan` (app/sheets/applying.py)
writes exactly the plan in one transaction and records it as an undoable ImportBatch;
`undo_batch` (app/sheets/undo.py) takes a batch back. All three are importable from here.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import keys as k
from . import values as v
from .applying import ImportRefused, StalePlan, apply_plan, row_values
from .checking import (
    changed_columns,
    check_locked,
    check_rules,
    check_unique,
    child_blockers,
    children_block,
    key_ambiguous,
    key_headers,
    match_keys,
)
from .declare import Sheet, sheets
from .headers import Layout
from .reader import Limits, RawSheet, UnreadableFile, read_file
from .reading import plan_sheet
from .rows import (
    CHUNK,
    Issue,
    RowPlan,
    describe_key,
    fk_column,
    json_value,
    key_attr,
    plan_settled,
    record_key,
    stored_values,
    with_parent_columns,
)
from .rows import same_value as _same
from .snapshots import label_from_snapshot, restore_value, snapshot_columns
from .undo import UndoRefused, undo_batch

__all__ = ["build_plan", "apply_plan", "undo_batch", "Plan", "RowPlan", "Issue",
           "UnreadableFile", "StalePlan", "ImportRefused", "UndoRefused", "CHUNK",
           "describe_key", "fk_column", "json_value", "key_attr", "record_key",
           "stored_values", "label_from_snapshot", "restore_value", "row_values"]


@dataclass
class Plan:
    sheet: Sheet
    file_name: str
    file_size: int
    sha256: str
    complete: bool
    valid_only: bool
    rows: list[RowPlan] = field(default_factory=list)
    deletions: list[RowPlan] = field(default_factory=list)
    file_issues: list[Issue] = field(default_factory=list)  # header-level problems
    notes: list[str] = field(default_factory=list)          # hidden sheets, ignored columns
    notices: list[Issue] = field(default_factory=list)      # the notes, as report warnings
    layouts: dict[str, Layout] = field(default_factory=dict)  # sheet name -> its header
    present_fields: set[str] = field(default_factory=set)   # columns the file actually has
    header_rows: dict[str, int] = field(default_factory=dict)
    # The file, read again for the error workbook (raw_sheets): the rows of the first reading
    # stream through the plan and are not kept.
    source: bytes | None = field(default=None, repr=False)
    limits: Limits | None = field(default=None, repr=False)
    _raw_sheets: list[RawSheet] | None = field(default=None, repr=False)

    @property
    def raw_sheets(self) -> list[RawSheet]:
        """The file's sheets, every cell as uploaded (read again on first use)."""
        if self._raw_sheets is None:
            self._raw_sheets = ([] if self.source is None
                                else read_file(self.source, self.file_name, self.limits))
        return self._raw_sheets

    @property
    def errors(self) -> list[Issue]:
        out = [i for i in self.file_issues if not i.warning]
        for r in self.rows + self.deletions:
            out.extend(r.errors)
        return out

    @property
    def warnings(self) -> list[Issue]:
        out = [i for i in self.file_issues if i.warning]
        for r in self.rows + self.deletions:
            out.extend(r.warnings)
        return out

    def count(self, action: str) -> int:
        if action == "delete":
            return sum(1 for r in self.deletions if r.action == "delete")
        return sum(1 for r in self.rows if r.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {a: self.count(a) for a in ("create", "update", "unchanged", "delete", "error")}

    @property
    def writable(self) -> bool:
        """Whether confirming would write: no errors, or the clerk chose the valid rows (a
        sheet whose header cannot be used is one of the errors; a problem of the whole file
        is not: then nothing is written)."""
        if any(not i.warning and i.blocking for i in self.file_issues):
            return False
        has_errors = bool(self.errors)
        return not has_errors or self.valid_only

    def fingerprint(self) -> str:
        """What the clerk saw: confirm refuses when a fresh plan of the same file differs."""
        h = hashlib.sha256()
        for r in self.rows + self.deletions:
            h.update(repr((r.sheet, r.row, r.action, r.existing_id, r.existing_version,
                           sorted((k, json_value(o), json_value(n)) for k, (o, n) in r.changes.items()),
                           len(r.errors))).encode())
        return h.hexdigest()

    def report(self, *, dry_run: bool, written: bool) -> dict:
        """The JSON report of spec §3."""
        return {
            "list": self.sheet.slug, "file": self.file_name, "dry_run": dry_run,
            "written": written,
            "created": self.count("create"), "updated": self.count("update"),
            "unchanged": self.count("unchanged"), "deleted": self.count("delete"),
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.notices + self.warnings],
        }


# ---------------------------------------------------------------------------- planning
def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass


def build_plan(sheet: Sheet, source, file_name: str, *, session: Session,
               complete: bool = False, valid_only: bool = False,
               limits: Limits | None = None, progress=None) -> Plan:
    """Read a file and say what importing it would do. Writes nothing.

    `progress(phase, done, total)`, if given, hears of coarse steps: ("read", rows read,
    rows) and ("check", steps done, steps) — a background job's progress bar.

    Raises UnreadableFile when the file itself cannot be read (exit status 2)."""
    report = progress or _no_progress
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as fh:
            data = fh.read()
    report("read", 0, None)
    raw_sheets = read_file(data, file_name, limits)
    steps = 7 if complete else 6
    plan = Plan(sheet=sheet, file_name=file_name, file_size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), complete=complete,
                valid_only=valid_only, source=data, limits=limits)

    found_header = False
    for raw in raw_sheets:  # each sheet stands on its own (reading.py)
        found_header = plan_sheet(sheet, raw, plan) or found_header
    # The rows stream through plan_sheet, each let go once read: counted, not kept.
    n_rows = sum(raw.count_rows() for raw in raw_sheets)
    report("read", n_rows, n_rows)
    if not found_header:
        expected = "、".join(c.header for c in sheet.columns if c.required)
        raise UnreadableFile(
            f"文件「{file_name}」中找不到「{sheet.title}」的表头：请确认选择了正确的清单，"
            f"表头应包含 {expected} 等列（可下载导入模板对照）。")

    with plan_settled():
        report("check", 1, steps)
        _resolve_parents(sheet, plan.rows, session)
        report("check", 2, steps)
        check_rules(sheet, plan.rows)
        report("check", 3, steps)
        _match_existing(sheet, plan, session)
        report("check", 4, steps)
        check_unique(sheet, plan.rows, session, plan.present_fields)
        report("check", 5, steps)
        if complete:
            _plan_deletions(sheet, plan, session)
            report("check", 6, steps)
        check_locked(sheet, plan.rows + plan.deletions, session)
        report("check", steps, steps)
    return plan


def _resolve_parents(sheet: Sheet, rows: list[RowPlan], session: Session) -> None:
    """Look every parent up by its key columns, in bulk, and put the instance in the record."""
    relations = sheet.relations
    # Parents that others are looked up within come first.
    order = sorted(relations, key=lambda r: 1 if r in sheet.refs else 0)
    for rel in order:
        cols = relations[rel]
        _, target = fk_column(sheet.model, rel)
        attrs = [getattr(target, c.attr) for c in cols]
        within = sheet.refs[rel].within if rel in sheet.refs else {}
        wanted = {tuple(r.record.get(c.field) for c in cols) for r in rows}
        wanted = [key for key in wanted if all(x is not None for x in key)]
        found = k.find_by_keys(session, target, attrs, wanted,
                               loose=k.is_loose(c.type for c in cols))
        parent_sheet = sheets.for_model(target)
        parent_title = parent_sheet.title if parent_sheet else target.__name__
        for r in rows:
            key = tuple(r.record.get(c.field) for c in cols)
            if any(x is None for x in key):
                r.record[rel] = None
                continue
            candidates = found.get(k.match_key(key), [])
            for attr, other in within.items():
                other_obj = r.record.get(other)
                candidates = [c for c in candidates
                              if other_obj is not None and getattr(c, attr) is other_obj]
            candidates = k.pick(candidates, attrs, key)
            if len(candidates) == 1:
                r.record[rel] = candidates[0]
                continue
            r.record[rel] = None
            shown = "、".join(f"{c.header}「{r.raw.get(c.field, '')}」" for c in cols)
            head = cols[-1]
            if candidates:
                msg = f"{shown}对应多条「{parent_title}」记录，无法确定是哪一条"
            else:
                scope = "（在本行的企业名下）" if within else ""
                msg = (f"找不到{shown}的「{parent_title}」记录{scope}："
                       f"请先在「{parent_title}」中录入或导入，或核对此列")
            r.issues.append(Issue(r.sheet, r.row, r.headers.get(head.field, head.header),
                                  r.raw.get(head.field, ""), msg))
    for r in rows:  # informational columns: a mismatch with the parent is a warning
        for c in sheet.info_columns:
            parent = r.record.get(c.relation)
            given = r.record.get(c.field)
            if parent is None or given is None:
                continue
            actual = getattr(parent, c.attr)
            if not _same(actual, given):
                r.issues.append(Issue(r.sheet, r.row, r.headers.get(c.field, c.header),
                                      r.raw.get(c.field, ""),
                                      f"与系统中的记录不一致（系统中为「{actual}」），仅供核对，不会导入",
                                      warning=True))


def _match_existing(sheet: Sheet, plan: Plan, session: Session) -> None:
    """A row whose key a stored record has (compared after normalisation, keys.py) updates
    it or leaves it unchanged; the others create one. Only the columns of the row's own sheet
    are compared: a sheet without 手机 leaves the phone alone.

    The stored records are read as Core rows, a chunk of ids at a time, and compared at once
    (each as a dict of its columns: quicker to read by name than the row): what is kept of an
    unchanged one is its id and version (a re-import of 100,000 rows holds no copy of the
    register)."""
    match_keys(sheet, plan.rows, session)
    relations = sheet.relations
    key_fields = [name for name in sheet.key if name not in relations]
    stored_fields = [c.field for c in sheet.stored]
    # relation -> (its foreign key's name, the fields that look it up)
    fks = {rel: (fk_column(sheet.model, rel)[0].key, [c.field for c in cols])
           for rel, cols in relations.items()}
    found: list[RowPlan] = []
    for r in plan.rows:
        if r.errors or r.key is None:
            r.action = "error"
            continue
        if len(r.matches) > 1:
            r.refuse(key_ambiguous(sheet, r.label, r), sheet.key[-1],
                     column="、".join(key_headers(sheet, r)), value=r.label)
            continue
        if r.found is None:
            r.action = "create"
            continue
        r.existing_id, r.existing_version = r.found.id, r.found.version
        found.append(r)
    model = sheet.model
    columns = snapshot_columns(model)
    names = [c.key for c in columns]  # labelled by attribute name
    by_id = {r.existing_id: r for r in found}
    seen: dict = {}
    for chunk in k.id_chunks(session, list(by_id)):
        for values in session.execute(select(*columns)
                                      .where(k.ids_in(session, model.__table__.c.id, chunk))
                                      ).all():
            row = dict(zip(names, values))
            r = by_id.pop(row["id"])
            _compare(sheet, r, row, key_fields, _compared(r, stored_fields, fks, seen), session)
    for r in by_id.values():  # deleted meanwhile (another session): to be created again
        r.existing_id = r.existing_version = r.found = None
        r.matches, r.action = [], "create"


def _compared(r: RowPlan, stored_fields, fks, seen: dict) -> tuple[list, dict]:
    """The fields and relations (relation -> its foreign key) a row's sheet gives: the rows
    of one sheet share their headers, so this is worked out once a sheet."""
    entry = seen.get(id(r.headers))
    if entry is not None and entry[0] is r.headers and not r.derived:
        return entry[1]
    fields = [f for f in stored_fields if f in r.headers]
    fields += [f for f in r.derived if f not in fields]
    rels = {rel: fk for rel, (fk, lookup) in fks.items() if any(f in r.headers for f in lookup)}
    if not r.derived:
        seen[id(r.headers)] = (r.headers, (fields, rels))
    return fields, rels


def _compare(sheet: Sheet, r: RowPlan, row: dict, key_fields, compared,
             session: Session) -> None:
    """The row's action against the stored record (its columns by name)."""
    for f in key_fields:
        given = r.record.get(f)
        if row[f] != given and v.key_form(row[f]) == v.key_form(given):
            r.record[f] = row[f]  # the same key in another width: not a change
    fields, rels = compared
    r.changes = changed_columns(row, r.record, fields, rels)
    r.action = "update" if r.changes else "unchanged"
    if r.action == "update":
        # What the locks and the preview read of a changed record: its values and parents.
        r.stored = _stored_values(sheet, row, session)
        for rel in rels:
            if rel in r.changes:  # the parent as an instance, as the preview names it
                r.changes[rel] = (r.stored[rel], r.changes[rel][1])


def _stored_values(sheet: Sheet, row: dict, session: Session) -> dict:
    """stored_values of a record read as its columns by name (parents from the session:
    those the rows name are in its identity map already)."""
    out = {c.field: row[c.field] for c in sheet.stored}
    for rel in [*sheet.relations, *sheet.links]:
        attr, target = fk_column(sheet.model, rel)
        pid = row[attr.key]
        out[rel] = session.get(target, pid) if pid is not None else None
    return with_parent_columns(sheet, out)


def _plan_deletions(sheet: Sheet, plan: Plan, session: Session) -> None:
    """--complete: records the file does not name are to be removed, children permitting."""
    if any(r.action == "error" for r in plan.rows) or any(not i.warning for i in plan.file_issues):
        # A row (or a sheet) we could not read may hold records that would look "missing".
        plan.file_issues.append(Issue(
            plan.rows[0].sheet if plan.rows else "", 0, "", "",
            "按完整清单导入时文件不能有错误行：否则无法确定哪些记录应当删除。请先修正错误。"))
        return
    kept = {r.existing_id for r in plan.rows if r.existing_id is not None}
    model = sheet.model
    doomed_ids = [i for i in session.scalars(select(model.id).order_by(model.id)) if i not in kept]
    blockers = child_blockers(sheet, doomed_ids, session)
    for chunk in k.id_chunks(session, doomed_ids):
        for obj in session.scalars(select(model).where(k.ids_in(session, model.id, chunk))
                                   .order_by(model.id)):
            rp = RowPlan(sheet="", row=0, action="delete", existing_id=obj.id,
                         existing_version=obj.version)
            rp.record = stored_values(sheet, obj)
            rp.label = describe_key(sheet, rp.record)
            if blockers.get(obj.id):
                rp.refuse(children_block(rp.label, blockers[obj.id], missing=True),
                          value=rp.label)
            plan.deletions.append(rp)
