"""The add/edit forms of a list, built from its declaration: each field parsed by its column's
type (the importer's parsers and messages), the record checked by the importer's rules, and
the version the form was shown from (optimistic locking across the round-trip)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    DatePickerWidget,
    Select2Widget,
)
from flask_appbuilder.forms import DynamicForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..sheets import types as t
from ..sheets.declare import Col, Sheet, sheets
from ..sheets.engine import stored_values
from ..sheets.values import ValueProblem
from .checks import lock_reason, rule_problems, target_field
from .columns import camel, description, is_boolean, screen_fields, search_fields, shown
from .privacy import derived_refusal, sent_back_masked

EMPTY_CHOICE = SelectChoice("", "")
# Optimistic locking across a form's round-trip (or an API client's read and write): the
# version the clerk saw travels with the form as `_version` (API: "version").
VERSION_FIELD = "_version"
STALE_FORM_MESSAGE = ("保存未完成：您打开此记录后，它已被其他人修改（当前为第 {version} 版）。"
                      "请核对下列内容后再次保存；您填写的内容仍保留在表单中。")


class Parse:
    """WTForms validator: the column's own parser (the importer's), so a form normalises as an
    import does (full-width digits, 30万元, 2015年3月1日 …) and says what is wrong in the
    importer's words. A masked ID number sent back unchanged keeps the stored one."""

    def __init__(self, col: Col):
        self.col = col

    def __call__(self, form, field):
        field.parsed, field.unchanged = None, False
        stored = getattr(form, "_stored", None)
        original = getattr(stored, self.col.field) if stored is not None else None
        if sent_back_masked(self.col, original, field.data):
            field.parsed, field.unchanged = original, True
        if self.col.derived_from and stored is not None:  # 出生日期 changes with its number
            source = form[self.col.derived_from]
            kept = field.unchanged or (original in (None, "") and not (field.data or "").strip())
            refusal = derived_refusal(self.col, form.sheet.column(self.col.derived_from),
                                      kept=kept, source_kept=source.unchanged, stored=original)
            if refusal:
                raise ValidationError(refusal)
        if field.unchanged:
            return
        try:
            field.parsed = self.col.type.parse(field.data)
        except ValueProblem as exc:
            raise ValidationError(exc.message) from None


class _Parsed:
    parsed = None
    unchanged = False

    def populate_obj(self, obj, name):
        if not self.unchanged:
            setattr(obj, name, self.parsed)


class TextInput(_Parsed, StringField):
    pass


class LongTextInput(_Parsed, TextAreaField):
    pass


class ChoiceInput(_Parsed, SelectField):
    pass


def _choices(col: Col):
    def choices(form, field):
        values = list(col.type.choices)
        if field.data and field.data not in values:
            values.append(field.data)  # a stored value no longer in the dictionary stays shown
        return [EMPTY_CHOICE, *(SelectChoice(v, v) for v in values)]
    return choices


def _form_field(col: Col, label: str):
    kw = dict(label=label, validators=[Parse(col)], description=description(col))
    vt = col.type
    if isinstance(vt, t.Date):
        return TextInput(widget=DatePickerWidget(), **kw)
    if vt.choices is not None and not isinstance(vt, t.Multi):  # 枚举, 是否: a dropdown
        return ChoiceInput(choices=_choices(col), validate_choice=False,
                           widget=Select2Widget(), **kw)
    if isinstance(vt, t.LongText):
        return LongTextInput(widget=BS3TextAreaFieldWidget(), **kw)
    return TextInput(widget=BS3TextFieldWidget(), **kw)  # 多选: text, values in description


def _relation_field(sheet: Sheet, relation: str, label: str):
    target = sa.inspect(sheet.model).relationships[relation].mapper.class_
    parent = sheets.for_model(target)
    order = [getattr(target, n) for n in (parent.order_by if parent else ())] + [target.id]
    note = "；".join(c.note for c in sheet.relations[relation] if c.note)

    def query_func():
        return current_app.appbuilder.session.query(target).order_by(*order).all()

    return QuerySelectField(label, description=note, query_func=query_func,
                            get_pk_func=lambda obj: obj.id, allow_blank=True,
                            widget=Select2Widget())


class VersionField(HiddenField):
    """The version of the record when its edit form was shown (rendered by FAB's
    `form.hidden_tag()`). Compared in `SheetForm.validate`, never written to the record."""

    def populate_obj(self, obj, name):
        pass


class SheetForm(DynamicForm):
    """The add/edit form of a list: each field parsed by its column's type, then the record
    checked by `sheet.check()` — the importer's rules — with each problem next to its field;
    warnings are flashed and do not block.

    An edit form carries the version it was shown from (`_version`): a save over someone
    else's later change is refused, the form shown again with what was typed and the current
    version, so that saving once more (the clerk has seen the warning) goes through."""
    sheet: Sheet = None
    _id = None      # FAB sets the edited record's primary key before validate()
    _stored = None  # that record, as stored

    def __init__(self, *args, obj=None, **kwargs):
        super().__init__(*args, obj=obj, **kwargs)
        if not self.is_submitted():  # a record shown for editing: as people read it
            stored = obj if isinstance(obj, self.sheet.model) else None
            for c in self.sheet.stored:
                # from the record, not field.data: a dropdown has already made False "False"
                value = getattr(stored, c.field) if stored is not None else self[c.field].data
                self[c.field].data = shown(c, value)
            if stored is not None and "qd_version" in self._fields:
                self.qd_version.data = str(stored.version)

    def stale_message(self) -> str | None:
        """Why the edited record may not be saved from this form: it changed since the form
        was shown. No `_version` (a form from before this field) is accepted, as before."""
        stored = self._stored
        if stored is None or "qd_version" not in self._fields:
            return None
        sent = (self.qd_version.data or "").strip()
        if not sent or sent == str(stored.version):
            return None
        current_app.logger.info(
            "edit refused, %s id=%s changed since its form was shown (form version %s, now %s)",
            self.sheet.slug, stored.id, sent if sent.isdigit() else "?", stored.version)
        self.qd_version.data = str(stored.version)  # shown again: a second save goes through
        return STALE_FORM_MESSAGE.format(version=stored.version)

    def record(self) -> dict:
        """The values as a rule sees them (parents as instances, as the importer gives)."""
        record = {}
        for c in self.sheet.columns:
            if c.info:
                continue
            if c.relation:
                parent = self[c.relation].data
                record[c.relation] = parent
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
            else:
                record[c.field] = self[c.field].parsed
        return record

    def validate(self, extra_validators=None):
        if self._id is not None:
            self._stored = current_app.appbuilder.session.get(self.sheet.model, int(self._id))
            stale = self.stale_message()
            if stale:
                self.form_errors.append(stale)
                flash(stale, "danger")  # first, at the top of the re-rendered form
        valid = super().validate(extra_validators)
        told = {name for name, f in self._fields.items() if f.errors}
        for p in rule_problems(self.sheet, self.record(), self._id):
            name = target_field(p.field, self._fields)
            if p.warning:
                flash(p.message, "warning")
            elif name is None:
                self.form_errors.append(p.message)
                flash(p.message, "danger")  # shown at the top of the re-rendered form
            elif name not in told:  # a value that could not be read is reported once
                self[name].errors.append(p.message)
        # A locked record (a review of a published batch) may be neither changed, nor moved
        # out of, nor added to its batch.
        records = [self.record()]
        if self._stored is not None:
            records.append(stored_values(self.sheet, self._stored))
        locked = lock_reason(self.sheet, records)
        if locked:
            self.form_errors.append(locked)
            flash(locked, "danger")
        return valid and not self.errors


def build_form(sheet: Sheet, labels: dict[str, str]) -> type[SheetForm]:
    fields = {}
    for name in screen_fields(sheet):
        if name in sheet.relations:
            fields[name] = _relation_field(sheet, name, labels[name])
        else:
            fields[name] = _form_field(sheet.column(name), labels[name])
    return type(f"{camel(sheet.slug)}Form", (SheetForm,), {"sheet": sheet, **fields})


def edit_form(form: type[SheetForm]) -> type[SheetForm]:
    """The edit form: the add form plus the version it was shown from (`_version`, hidden).
    WTForms ignores attributes starting with "_": the HTML name is given explicitly."""
    return type(form.__name__.replace("Form", "EditForm"), (form,),
                {"qd_version": VersionField(name=VERSION_FIELD)})


def search_extra_fields(sheet: Sheet, labels: dict[str, str]) -> dict:
    """Dropdowns for enumerations and 是/否 in the search form (FAB would offer a text box)."""
    out = {}
    for name in search_fields(sheet):
        if is_boolean(sheet, name):
            choices = [SelectChoice("是"), SelectChoice("否")]
        elif name in sheet.relations or name not in {c.field for c in sheet.stored}:
            continue
        elif isinstance(sheet.column(name).type, t.Enum):
            choices = [SelectChoice(v) for v in sheet.column(name).type.choices]
        else:
            continue
        out[name] = SelectField(labels[name], choices=choices, widget=Select2Widget())
    return out
