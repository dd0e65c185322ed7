"""What a user without the right to see whole ID numbers (科员, 只读, anonymous visitors) is
shown and told about a record's sensitive values (`Col.sensitive`: 身份证号码, and 出生日期,
which is eight of its digits).

Masking alone is not enough: whatever is shown, said or accepted must not let the number be
rebuilt. Hence: the mask keeps only the region (values.mask_id_number); a value derived from
the number is masked too; no filter, search or order on them (datamodel.get_filters, the
views' order_columns); messages say that a value disagrees with the number, not what the
number says (`Problem.masked`, chosen by checking.check_rules for an Actor that may not
see ID numbers); and a derived value changes only together with its number
(`derived_refusal`), or the answer to "save 出生日期 = 1958-05-19" would tell whether it is
the hidden one.
"""
from __future__ import annotations

from ..sheets.declare import Col, Problem, Sheet, error
from .security import can_see_id_numbers


def masked_text(col: Col, value) -> str:
    """A stored value as a user who may not see it reads it (as `columns.shown` shows it)."""
    if value is None or value == "":
        return ""
    return col.masked(col.type.to_text(value)) or ""


def derived_refusal(col: Col, source: Col, *, kept: bool, source_kept: bool,
                    stored) -> str | None:
    """Why a user who may not see `source` (身份证号码) may not save this change of `col`
    (出生日期, derived from it), or None. The answer never depends on the hidden values:
    `col` changed while its number is kept would otherwise be checked against the hidden
    number (an oracle), and the number changed while `col` keeps its hidden value would check
    that value against the new number."""
    if can_see_id_numbers() or kept == source_kept:
        return None
    hidden = stored not in (None, "")
    if source_kept:
        keep = f"否则请保留显示的「{masked_text(col, stored)}」不变" if hidden else "否则请留空"
        return (f"「{col.header}」由「{source.header}」决定，而您无权查看完整的"
                f"「{source.header}」，因此不能单独修改：请同时填写完整的「{source.header}」，"
                f"{keep}。")
    if not hidden:
        return None  # nothing hidden to compare with the new number
    return (f"修改「{source.header}」时，请同时填写与之一致的「{col.header}」"
            f"（原来的「{col.header}」您无权查看）。")


def derived_problems(sheet: Sheet, sent: dict, stored) -> list[Problem]:
    """`derived_refusal` for an API update: a field left out of `sent`, or sent back as it
    was shown (masked), is kept."""
    def kept(col: Col) -> bool:
        return col.field not in sent or col.shows_masked(sent[col.field],
                                                         getattr(stored, col.field))
    out = []
    for col in sheet.stored:
        if col.derived_from:
            source = sheet.column(col.derived_from)
            refusal = derived_refusal(col, source, kept=kept(col), source_kept=kept(source),
                                      stored=getattr(stored, col.field))
            if refusal:
                out.append(error(col.field, refusal))
    return out
