"""The import pipeline, one for every list, the web wizard and the command line alike.

    read → locate header → normalise cells → check → match keys in bulk → plan → apply

`build_plan` writes nothing; `apply_plan` writes exactly the plan in one transaction and
records it as an undoable ImportBatch; `undo_batch` takes a batch back.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, inspect, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Change, ImportBatch, ImportFile, now
from . import keys as k
from . import values as v
from .declare import Sheet, sheets
from .headers import Layout, is_empty, is_footer, locate_header
from .merges import fill_down
from .reader import Limits, RawSheet, UnreadableFile, read_file

CHUNK = 500            # keys per IN (...) query

__all__ = ["build_plan", "apply_plan", "undo_batch", "Plan", "RowPlan", "Issue",
           "UnreadableFile", "StalePlan", "ImportRefused", "UndoRefused"]


class StalePlan(Exception):
    """The records changed after the preview: preview again."""


class ImportRefused(Exception):
    """The plan has errors and the clerk did not ask for the valid rows only."""


class UndoRefused(Exception):
    pass


@dataclass
class Issue:
    sheet: str
    row: int
    column: str
    value: str
    message: str
    warning: bool = False
    # A problem of the file as a whole (not of one sheet or row): nothing can be imported,
    # not even the valid rows. A sheet whose header cannot be used is not one of them.
    blocking: bool = True

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message}

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」第 {self.row} 行" + (f"「{self.column}」列" if self.column else "")
        value = f"（值：「{self.value}」）" if self.value else ""
        return f"{where}{value}：{self.message}"


@dataclass(eq=False)
class RowPlan:
    sheet: str
    row: int
    action: str = "error"          # create / update / unchanged / delete / error
    record: dict = field(default_factory=dict)   # field -> clean value (relations: instances)
    raw: dict = field(default_factory=dict)      # field -> the cell as written, for messages
    changes: dict = field(default_factory=dict)  # field -> (old, new)
    issues: list[Issue] = field(default_factory=list)
    key: tuple | None = None
    existing_id: int | None = None
    existing_version: int | None = None
    label: str = ""                # how a person names the record (key values)
    derived: set = field(default_factory=set)    # fields the Sheet derived (not in the file)
    headers: dict = field(default_factory=dict)  # field -> its header as the file writes it
    stored: dict = field(default_factory=dict)   # field -> the existing record's value

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if not i.warning]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.warning]


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
    raw_sheets: list[RawSheet] = field(default_factory=list)
    header_rows: dict[str, int] = field(default_factory=dict)

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
        """Whether confirming would write: no errors, or the clerk chose the valid rows."""
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


# ---------------------------------------------------------------------------- helpers
def json_value(value):
    """A value as JSON can keep it (the audit trail, fingerprints)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "id") and hasattr(value, "__table__"):
        return value.id
    return value


def _same(a, b) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return a is not None and b is not None and Decimal(a) == Decimal(b)
        except Exception:
            return False
    if isinstance(a, dt.datetime):
        a = a.date() if not isinstance(b, dt.datetime) else a
    return a == b


def _text(raw) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        return str(int(raw))  # beyond 15 digits Excel has rounded: show it as Excel does
    if isinstance(raw, (dt.datetime, dt.date)):
        return raw.isoformat()[:10] if not isinstance(raw, dt.datetime) or not (
            raw.hour or raw.minute or raw.second) else raw.isoformat(sep=" ")
    return str(raw).strip()


def fk_column(model, relation: str):
    """The local foreign-key attribute of a many-to-one relation."""
    rel = inspect(model).relationships[relation]
    (col,) = rel.local_columns
    return getattr(model, col.key), rel.mapper.class_


def key_attr(sheet: Sheet, name: str):
    """The model attribute a key part compares: the FK for a relation, else the column."""
    if name in sheet.relations:
        return fk_column(sheet.model, name)[0]
    return getattr(sheet.model, name)


def record_key(sheet: Sheet, record: dict) -> tuple | None:
    parts = []
    for name in sheet.key:
        value = record.get(name)
        if name in sheet.relations:
            value = value.id if value is not None else None
        if value is None:
            return None
        parts.append(value)
    return tuple(parts)


def describe_key(sheet: Sheet, record: dict) -> str:
    out = []
    for name in sheet.key:
        if name in sheet.relations:
            out.extend(str(record.get(c.field) or "") for c in sheet.relations[name])
        else:
            col = sheet.column(name)
            out.append(col.type.to_text(record.get(name)))
    return " / ".join(out)


def _in_chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _where_in(attrs: list, keys: list[tuple]):
    if len(attrs) == 1:
        return attrs[0].in_([k[0] for k in keys])
    return tuple_(*attrs).in_(keys)


# ---------------------------------------------------------------------------- planning
def build_plan(sheet: Sheet, source, file_name: str, *, session: Session,
               complete: bool = False, valid_only: bool = False,
               limits: Limits | None = None) -> Plan:
    """Read a file and say what importing it would do. Writes nothing.

    Raises UnreadableFile when the file itself cannot be read (exit status 2)."""
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as fh:
            data = fh.read()
    raw_sheets = read_file(data, file_name, limits)
    plan = Plan(sheet=sheet, file_name=file_name, file_size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), complete=complete,
                valid_only=valid_only, raw_sheets=raw_sheets)

    found_header = False
    for raw in raw_sheets:
        found_header = _plan_sheet(sheet, raw, plan) or found_header
    if not found_header:
        expected = "、".join(c.header for c in sheet.columns if c.required)
        raise UnreadableFile(
            f"文件「{file_name}」中找不到「{sheet.title}」的表头：请确认选择了正确的清单，"
            f"表头应包含 {expected} 等列（可下载导入模板对照）。")

    _resolve_parents(sheet, plan.rows, session)
    _check_rules(sheet, plan.rows)
    _match_existing(sheet, plan, session)
    _check_unique(sheet, plan, session)
    if complete:
        _plan_deletions(sheet, plan, session)
    _check_locked(sheet, plan, session)
    return plan


def _note(plan: Plan, issue: Issue) -> None:
    plan.notices.append(issue)


def _plan_sheet(sheet: Sheet, raw: RawSheet, plan: Plan) -> bool:
    """Read one sheet into the plan; whether it has this list's header. Each sheet stands on
    its own: one whose header cannot be used is an error of that sheet, which does not keep
    the valid rows of the others from being imported."""
    if raw.hidden:
        plan.notes.append(f"隐藏的工作表「{raw.name}」已跳过。")
        _note(plan, Issue(raw.name, 0, "", "", "隐藏的工作表，已跳过：如需导入，请在 Excel 中取消隐藏后再上传",
                          warning=True))
        return False
    layout = locate_header(sheet, raw.rows, raw.merges)
    if layout is None:
        if raw.rows:
            plan.notes.append(f"工作表「{raw.name}」中找不到「{sheet.title}」的表头，已跳过。")
            _note(plan, Issue(raw.name, 0, "", "", f"找不到「{sheet.title}」的表头，整张工作表已跳过",
                              warning=True))
        return False
    plan.header_rows[raw.name] = layout.header_row
    plan.layouts[raw.name] = layout
    if layout.ignored:
        plan.notes.append(f"工作表「{raw.name}」中无法识别的列已忽略："
                          + "、".join(dict.fromkeys(h for _i, h in layout.ignored)))
        for _i, header in layout.ignored:
            _note(plan, Issue(raw.name, layout.header_row, header, "",
                              "无法识别的列，已忽略（不导入）：如是清单中的列，请按导入模板改列名",
                              warning=True))
    problems = [Issue(raw.name, layout.header_row, headers[-1], "",
                      f"「{sheet.label(name)}」列出现了 {len(headers)} 次（"
                      + "、".join(f"「{h}」" for h in headers)
                      + "）：无法确定以哪一列为准，请删除或改名多余的列后再导入；本工作表未导入",
                      blocking=False)
                for name, headers in layout.repeated.items()]
    problems += [Issue(raw.name, layout.header_row, c.header, "",
                       f"缺少必填列「{c.header}」：请在表头行加上这一列（可下载导入模板对照）；"
                       "本工作表未导入", blocking=False)
                 for c in layout.missing_required(sheet)]
    if problems:
        plan.file_issues.extend(problems)
        return True
    plan.present_fields.update(c.field for c in layout.columns.values())
    plan.rows.extend(_read_rows(sheet, raw, layout))
    return True


def _read_rows(sheet: Sheet, raw: RawSheet, layout: Layout) -> list[RowPlan]:
    out = []
    above: dict[int, object] = {}  # cell index -> value of the row above, for 同上
    filled = fill_down(raw.rows, raw.merges, layout.last_header_row)
    for (row_number, own), (_same_row, cells) in zip(raw.rows, filled):
        if row_number <= layout.last_header_row:
            continue
        # What a row is (empty, a total, a repeated page header) is told by its own cells.
        if is_empty(own) or is_footer(own) or layout.repeats_header(own):
            continue
        rp = RowPlan(sheet=raw.name, row=row_number,
                     headers={c.field: layout.headers[i] for i, c in layout.columns.items()})
        for i, col in layout.columns.items():
            cell = cells[i] if i < len(cells) else None
            header = layout.headers[i]
            if v.is_ditto(cell):
                if i not in above:
                    rp.issues.append(Issue(raw.name, row_number, header, v.clean_text(cell),
                                           "「同上」上方没有可沿用的值：请填写实际内容"))
                    continue
                cell = above[i]
            above[i] = cell
            rp.raw[col.field] = _text(cell)
            error = v.excel_error(cell)
            if error is not None:   # never empty, even in an optional column
                rp.issues.append(Issue(raw.name, row_number, header, error,
                                       f"单元格是 Excel 错误值「{error}」（公式出错）：请修正公式，"
                                       "或直接填写内容后再导入"))
                rp.record[col.field] = None
                continue
            try:
                rp.record[col.field] = col.type.parse(cell, unit=layout.units.get(i))
            except v.ValueProblem as exc:
                rp.issues.append(Issue(raw.name, row_number, header, _text(cell), str(exc)))
                rp.record[col.field] = None
        out.append(rp)
    return out


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
        wanted = [k for k in wanted if all(x is not None for x in k)]
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


def _check_rules(sheet: Sheet, rows: list[RowPlan]) -> None:
    for r in rows:
        if sheet.derive is not None:
            before = r.record
            r.record = sheet.derive(dict(before))
            r.derived = {k for k, val in r.record.items() if before.get(k) != val}
        unreadable = {i.column for i in r.issues if not i.warning}
        bad_fields = {f for f, h in r.headers.items() if h in unreadable}
        for p in sheet.check(r.record):
            if p.field in bad_fields and not p.warning:
                continue  # already reported as an unreadable value
            column = (r.headers.get(p.field) or sheet.label(p.field)) if p.field else ""
            value = r.raw.get(p.field, "") if p.field else ""
            r.issues.append(Issue(r.sheet, r.row, column, value, p.message, p.warning))


def _match_existing(sheet: Sheet, plan: Plan, session: Session) -> None:
    """New, changed or unchanged: each row's key against the file and the register, keys
    compared after normalisation (keys.py)."""
    model = sheet.model
    attrs = [key_attr(sheet, name) for name in sheet.key]
    seen: dict[tuple, RowPlan] = {}
    keyed: list[RowPlan] = []
    for r in plan.rows:
        r.label = describe_key(sheet, r.record)
        if r.errors:
            continue
        r.key = record_key(sheet, r.record)
        if r.key is None:
            continue
        first = seen.get(k.match_key(r.key))
        if first is not None:
            headers = _key_headers(sheet, r)
            named = "、".join(f"「{h}」" for h in headers)
            msg = (f"与工作表「{first.sheet}」第 {first.row} 行重复：{named}相同的记录在文件中"
                   "只能出现一次，请删除重复的一行或更正")
            r.issues.append(Issue(r.sheet, r.row, "、".join(headers), r.label, msg))
            continue
        seen[k.match_key(r.key)] = r
        keyed.append(r)

    loose = k.is_loose(sheet.column(name).type for name in sheet.key if name not in sheet.relations)
    existing = k.find_by_keys(session, model, attrs, [r.key for r in keyed], loose=loose)

    keyed_ids = {id(r) for r in keyed}
    for r in plan.rows:
        # The columns of the row's own sheet: a sheet without 手机 leaves the phone alone.
        fields = [c.field for c in sheet.stored if c.field in r.headers]
        relations = [rel for rel in sheet.relations
                     if any(c.field in r.headers for c in sheet.relations[rel])]
        if r.errors or r.key is None or id(r) not in keyed_ids:
            r.action = "error"
            continue
        candidates = k.pick(existing.get(k.match_key(r.key), []), attrs, r.key)
        if len(candidates) > 1:
            r.issues.append(Issue(r.sheet, r.row, "、".join(_key_headers(sheet, r)), r.label,
                                  f"清单中有 {len(candidates)} 条记录与「{r.label}」只差全角/半角、"
                                  "空格或大小写，无法确定更新哪一条：请先在清单中合并这些记录"))
            r.action = "error"
            continue
        obj = candidates[0] if candidates else None
        if obj is None:
            r.action = "create"
            continue
        r.existing_id, r.existing_version = obj.id, obj.version
        r.stored = stored_values(sheet, obj)
        for f in fields + [f for f in r.derived if f not in fields]:
            old, new = getattr(obj, f), r.record.get(f)
            if f in sheet.key and v.key_form(old) == v.key_form(new):
                r.record[f] = old   # the same key, written in another width: not a change
                continue
            if not _same(old, new):
                r.changes[f] = (old, new)
        for rel in relations:
            old, new = getattr(obj, rel), r.record.get(rel)
            if old is not new:
                r.changes[rel] = (old, new)
        r.action = "update" if r.changes else "unchanged"


def _key_headers(sheet: Sheet, r: RowPlan) -> list[str]:
    """The key's columns, named by the headers the file uses."""
    out = []
    for name in sheet.key:
        if name in sheet.relations:
            out.extend(r.headers.get(c.field, c.header) for c in sheet.relations[name])
        else:
            out.append(r.headers.get(name, sheet.label(name)))
    return out


def stored_values(sheet: Sheet, obj) -> dict:
    """A stored record as the list's fields (parents as instances), for `Sheet.locked`."""
    out = {c.field: getattr(obj, c.field) for c in sheet.stored}
    for rel in sheet.relations:
        out[rel] = getattr(obj, rel)
    return out


def _check_locked(sheet: Sheet, plan: Plan, session: Session) -> None:
    """Rows that would create, change or delete a locked record (a review of a published
    batch) are errors: the record as stored and as it would become are both asked, in bulk."""
    if sheet.locked is None:
        return
    asked: list[tuple[RowPlan, dict]] = []
    for r in plan.rows:
        if r.action == "create":
            asked.append((r, r.record))
        elif r.action == "update":
            asked += [(r, r.stored), (r, {**r.stored, **r.record})]
    asked += [(r, r.record) for r in plan.deletions if r.action == "delete"]
    reasons = sheet.lock_reasons(session, [record for _r, record in asked])
    for (r, _record), reason in zip(asked, reasons):
        if reason is None or r.action == "error":
            continue
        r.issues.append(Issue(r.sheet, r.row, "", r.label, reason))
        r.action, r.changes = "error", {}


def _check_unique(sheet: Sheet, plan: Plan, session: Session) -> None:
    """Columns unique apart from the key: once in the file, and not another record's; values
    compared as keys are (keys.py)."""
    model = sheet.model
    for col in sheet.stored:
        if not col.unique or col.field not in plan.present_fields:
            continue
        rows = [r for r in plan.rows if r.action != "error" and r.record.get(col.field)]
        attr = getattr(model, col.field)
        owners = k.find_by_keys(session, model, [attr], [(r.record[col.field],) for r in rows],
                                loose=k.is_loose([col.type]))
        first: dict = {}
        for r in rows:
            value = k.match_key((r.record[col.field],))
            header = r.headers.get(col.field, col.header)
            others = [o for o in owners.get(value, []) if o.id != r.existing_id]
            if value in first:
                other = first[value]
                msg = f"与工作表「{other.sheet}」第 {other.row} 行重复：「{header}」不能重复"
            elif others:
                msg = f"「{header}」已被另一条记录使用：请核对，或先修改那条记录"
            else:
                first[value] = r
                continue
            r.issues.append(Issue(r.sheet, r.row, header, r.raw.get(col.field, ""), msg))
            r.action, r.changes = "error", {}


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
    # Children block a deletion, even those the ORM would cascade: an undo must be able to
    # bring back everything a deletion removed, and it only keeps this list's records.
    blockers: dict[int, list[str]] = defaultdict(list)
    for rel in inspect(model).relationships:
        if rel.direction.name != "ONETOMANY":
            continue
        (fk,) = rel.remote_side
        child = sheets.for_model(rel.mapper.class_)
        name = child.title if child else rel.key
        for chunk in _in_chunks(doomed_ids):
            counts = session.execute(select(fk, func.count()).where(fk.in_(chunk))
                                     .group_by(fk)).all()
            for pid, n in counts:
                blockers[pid].append(f"{n} 条「{name}」")
    for chunk in _in_chunks(doomed_ids):
        for obj in session.scalars(select(model).where(model.id.in_(chunk)).order_by(model.id)):
            rp = RowPlan(sheet="", row=0, action="delete", existing_id=obj.id,
                         existing_version=obj.version)
            rp.record = {c.field: getattr(obj, c.field) for c in sheet.stored}
            for rel in sheet.relations:
                parent = getattr(obj, rel)
                rp.record[rel] = parent
                for c in sheet.relations[rel]:
                    rp.record[c.field] = getattr(parent, c.attr) if parent is not None else None
            rp.label = describe_key(sheet, rp.record)
            if blockers.get(obj.id):
                rp.action = "error"
                rp.issues.append(Issue("", 0, "", rp.label,
                                       f"「{rp.label}」不在文件中，但它还有"
                                       f"{'、'.join(blockers[obj.id])}记录，不能删除："
                                       f"请先处理这些记录，或不要按完整清单导入"))
            plan.deletions.append(rp)


# ---------------------------------------------------------------------------- writing
def _snapshot(sheet: Sheet, obj) -> dict:
    """The record's stored values, as the audit trail keeps them."""
    mapper = inspect(sheet.model)
    return {c.key: json_value(getattr(obj, c.key)) for c in mapper.column_attrs
            if c.key not in ("created_on", "changed_on", "created_by_fk", "changed_by_fk")}


def _row_values(sheet: Sheet, plan: Plan, r: RowPlan) -> dict:
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


def apply_plan(plan: Plan, *, session: Session, user_id: int | None = None,
               source: str = "web", data: bytes | None = None) -> ImportBatch:
    """Write the plan in one transaction and record it as a batch. Raises StalePlan when
    the records changed since the plan was made (nothing is written then)."""
    if not plan.writable:
        raise ImportRefused("文件有错误，未导入任何记录：请修正后重新上传，或选择“只导入无错误的行”。")
    sheet = plan.sheet
    model = sheet.model
    table = model.__table__
    stamp = now()
    try:
        updates = [r for r in plan.rows if r.action == "update"]
        deletes = [r for r in plan.deletions if r.action == "delete"]
        touched = {r.existing_id: r.existing_version for r in updates + deletes}
        for chunk in _in_chunks(list(touched)):  # lock and compare versions before writing
            rows = session.execute(select(table.c.id, table.c.version)
                                   .where(table.c.id.in_(chunk)).with_for_update()).all()
            current = dict(rows)
            for rid in chunk:
                if current.get(rid) != touched[rid]:
                    raise StalePlan("预览之后这些记录已被他人修改：请重新预览后再确认导入。")

        batch = ImportBatch(slug=sheet.slug, list_title=sheet.title, created_by_fk=user_id,
                            source=source, file_name=plan.file_name[:255],
                            file_size=plan.file_size, sha256=plan.sha256,
                            options={"complete": plan.complete, "valid_only": plan.valid_only},
                            created=plan.count("create"), updated=len(updates),
                            unchanged=plan.count("unchanged"), deleted=len(deletes),
                            errors=len(plan.errors), created_on=stamp)
        if data is not None:
            batch.file = ImportFile(content=data)
        session.add(batch)
        session.flush()
        changes: list[dict] = []

        creates = [r for r in plan.rows if r.action == "create"]
        if creates:
            params = [{**_row_values(sheet, plan, r), "version": 1, "created_on": stamp,
                       "changed_on": stamp, "created_by_fk": user_id, "changed_by_fk": user_id}
                      for r in creates]
            session.execute(insert(table), params)
            # Ids by key afterwards, in bulk: RETURNING in parameter order is row-at-a-time
            # on some databases.
            attrs = [key_attr(sheet, k) for k in sheet.key]
            cols = [table.c[a.key] for a in attrs]
            ids: dict[tuple, int] = {}
            for chunk in _in_chunks([r.key for r in creates]):
                for row in session.execute(select(table.c.id, *cols).where(
                        _where_in(cols, chunk))):
                    ids[tuple(row[1:])] = row[0]
            for r, p in zip(creates, params):
                rid = ids[r.key]
                r.existing_id = rid
                after = {k: json_value(val) for k, val in p.items()
                         if k not in ("created_on", "changed_on", "created_by_fk",
                                      "changed_by_fk")}
                after["id"] = rid
                changes.append(dict(slug=sheet.slug, record_id=rid, action="create",
                                    before=None, after=after, version_after=1))

        if updates:
            befores = {o.id: _snapshot(sheet, o) for chunk in
                       _in_chunks([r.existing_id for r in updates])
                       for o in session.scalars(select(model).where(model.id.in_(chunk)))}
            groups: dict[tuple, list[RowPlan]] = defaultdict(list)
            for r in updates:
                groups[tuple(sorted(_row_values(sheet, plan, r)))].append(r)
            for names, group in groups.items():
                stmt = (update(table).where(table.c.id == bindparam("_id"))
                        .values({**{n: bindparam("_" + n) for n in names},
                                 "version": table.c.version + 1, "changed_on": stamp,
                                 "changed_by_fk": user_id}))
                session.execute(stmt, [{"_id": r.existing_id,
                                        **{"_" + k: val for k, val in
                                           _row_values(sheet, plan, r).items()}}
                                       for r in group])
            for r in updates:
                before = befores[r.existing_id]
                after = dict(before, **{k: json_value(val)
                                        for k, val in _row_values(sheet, plan, r).items()})
                after["version"] = r.existing_version + 1
                changes.append(dict(slug=sheet.slug, record_id=r.existing_id, action="update",
                                    before=before, after=after,
                                    version_after=r.existing_version + 1))

        if deletes:
            for chunk in _in_chunks([r.existing_id for r in deletes]):
                for o in session.scalars(select(model).where(model.id.in_(chunk))):
                    changes.append(dict(slug=sheet.slug, record_id=o.id, action="delete",
                                        before=_snapshot(sheet, o), after=None,
                                        version_after=None))
                session.execute(delete(table).where(table.c.id.in_(chunk)))

        if changes:
            for c in changes:
                c.update(batch_id=batch.id, changed_on=stamp, changed_by_fk=user_id)
            session.execute(insert(Change), changes)
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


def restore_value(sheet: Sheet, name: str, value):
    """A JSON-kept value back to its column's Python type."""
    if value is None:
        return None
    col = sheet.model.__table__.c[name]
    try:
        py = col.type.python_type
    except NotImplementedError:
        return value
    if py is dt.date:
        return dt.date.fromisoformat(value)
    if py is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if py is Decimal:
        return Decimal(value)
    return value


def undo_batch(batch_id: int, *, session: Session, user_id: int | None = None) -> ImportBatch:
    """Take an import back: remove what it created, restore what it changed or deleted —
    unless something changed those records since (then nothing is done)."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise UndoRefused(f"导入批次 {batch_id} 不存在")
    if batch.undone:
        raise UndoRefused(f"导入批次 {batch_id} 已于 {batch.undone_on:%Y-%m-%d %H:%M} 撤销过")
    sheet = sheets[batch.slug]
    model = sheet.model
    table = model.__table__
    changes = session.scalars(select(Change).where(Change.batch_id == batch.id)
                              .order_by(Change.id)).all()
    snapshots = [s for c in changes for s in (c.before, c.after) if s]
    locked = next(filter(None, sheet.lock_reasons(session, snapshots)), None)
    if locked:
        session.rollback()
        raise UndoRefused(f"撤销未执行：本次导入涉及的记录现在不能修改。{locked}")
    ids = [c.record_id for c in changes]
    current: dict[int, int] = {}
    for chunk in _in_chunks(ids):
        current.update(session.execute(select(table.c.id, table.c.version)
                                       .where(table.c.id.in_(chunk)).with_for_update()).all())
    conflicts = []
    for c in changes:
        if c.action == "delete":
            if c.record_id in current:
                conflicts.append(c)
        elif current.get(c.record_id) != c.version_after:
            conflicts.append(c)
    if conflicts:
        session.rollback()
        names = []
        for c in conflicts[:20]:
            snap = c.after or c.before or {}
            names.append(label_from_snapshot(sheet, snap, session) or f"#{c.record_id}")
        more = f" 等 {len(conflicts)} 条" if len(conflicts) > 20 else ""
        raise UndoRefused("以下记录在本次导入之后又被修改或重新录入，为免覆盖他人的修改，"
                          "撤销未执行：" + "；".join(names) + more)
    stamp = now()
    log = []
    try:
        for c in reversed(changes):
            if c.action == "create":
                session.execute(delete(table).where(table.c.id == c.record_id))
                log.append(dict(record_id=c.record_id, action="delete", before=c.after,
                                after=None, version_after=None))
            elif c.action == "update":
                values = {k: restore_value(sheet, k, val) for k, val in c.before.items()
                          if k not in ("id", "version")}
                session.execute(update(table).where(table.c.id == c.record_id)
                                .values({**values, "version": c.version_after + 1,
                                         "changed_on": stamp, "changed_by_fk": user_id}))
                log.append(dict(record_id=c.record_id, action="update", before=c.after,
                                after=dict(c.before, version=c.version_after + 1),
                                version_after=c.version_after + 1))
            else:
                values = {k: restore_value(sheet, k, val) for k, val in c.before.items()}
                values.update(version=values.get("version", 1) + 1, created_on=stamp,
                              changed_on=stamp, changed_by_fk=user_id)
                session.execute(insert(table).values(values))
                log.append(dict(record_id=c.record_id, action="create", before=None,
                                after=c.before, version_after=values["version"]))
        for entry in log:
            entry.update(slug=sheet.slug, changed_on=stamp, changed_by_fk=user_id,
                         summary=f"撤销导入批次 {batch.id}")
        if log:
            session.execute(insert(Change), log)
        batch.undone, batch.undone_on, batch.undone_by_fk = True, stamp, user_id
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise UndoRefused("撤销未执行：本批次新增的记录已被其他清单引用（例如已有下属的证书或责任事项），"
                          "请先处理引用它们的记录。") from exc
    session.expire_all()
    return batch


def label_from_snapshot(sheet: Sheet, snap: dict, session: Session) -> str:
    record = dict(snap)
    for rel in sheet.relations:
        attr, target = fk_column(sheet.model, rel)
        pid = snap.get(attr.key)
        parent = session.get(target, pid) if pid is not None else None
        record[rel] = parent
        for c in sheet.relations[rel]:
            record[c.field] = getattr(parent, c.attr) if parent is not None else None
    for name in sheet.key:
        if name not in sheet.relations and name in record:
            record[name] = restore_value(sheet, name, record[name])
    return describe_key(sheet, record)
