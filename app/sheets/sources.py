"""Building a record from where it comes from, for the record commands (app/sheets/records.py):
typed values (a form, an API body) read by each column's own parser — the importer's, so a
form or an API call normalises as an import does (full-width digits, 30万元, 2015年3月1日 …)
and says what is wrong in the importer's words. A history entry is read back by
app/sheets/snapshots.record_from_snapshot; a form's fields by app/web/forms.py."""
from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from .declare import Col, Problem, Sheet, error, sheets
from .records import Draft
from .rows import with_parent_columns
from .values import ValueProblem


def parse_field(col: Col, raw, stored=None):
    """A typed value as its column stores it. A sensitive value (身份证号码, 出生日期) sent back
    as it was shown (masked, to whoever may not see it whole) keeps the stored one. Raises
    ValueProblem."""
    if col.shows_masked(raw, stored):
        return stored
    return col.type.parse(raw)


def _parent(sheet: Sheet, relation: str, raw, session: Session):
    """A parent named by its id (as the API reads and writes it); raises ValueProblem."""
    target = inspect(sheet.model).relationships[relation].mapper.class_
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):  # {"id": 3, …}, as a client may send back what it read
        raw = raw.get("id")
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str)
                                                              and raw.strip().isdigit())):
        raise ValueProblem(f"「{sheet.label(relation)}」应为所指记录的编号（整数 id）")
    parent = session.get(target, int(raw))
    if parent is None:
        title = getattr(sheets.for_model(target), "title", target.__name__)
        raise ValueProblem(f"找不到编号为 {int(raw)} 的「{title}」记录：请核对")
    return parent


def draft_from_values(sheet: Sheet, values: dict, session: Session, stored=None) -> Draft:
    """A draft from typed values by field name (an API body): the fields given, each parsed;
    a parent by its id. `stored`: the record being changed (for masked ID numbers)."""
    out, problems = {}, []
    for name, raw in values.items():
        try:
            if name in sheet.relations:
                out[name] = _parent(sheet, name, raw, session)
            else:
                col = sheet.column(name)
                out[name] = parse_field(col, raw, getattr(stored, name, None))
        except ValueProblem as exc:
            problems.append(Problem(name, exc.message))
            out[name] = None
    return Draft(with_parent_columns(sheet, out), problems)


def unknown_fields(sheet: Sheet, names, allowed) -> list[Problem]:
    """Problems for names a body gives that are no field of the list."""
    return [error(name, f"「{name}」不是「{sheet.title}」的字段：可用的字段为 "
                        + "、".join(allowed)) for name in names if name not in allowed]
