"""The add/edit forms of a list, built from its declaration: each field parsed by its column's
type (the importer's parsers and messages), the version the form was shown from (optimistic
locking across the round-trip), and the record commands' answer shown next to the fields.

A form only reads what was typed (`draft()`); the checks — rules, key, unique columns, locks —
are the record commands' (app/sheets/records.py), the same as for the API and imports."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import (
    BS3TextAreaFieldWidget,
    BS3TextFieldWidget,
    Select2Widget,
)
from flask_appbuilder.forms import DynamicForm
from markupsafe import Markup
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError
from wtforms.widgets import html_params

from ..sheets import types as t
from ..sheets.declare import Col, Problem, Sheet, sheets
from ..sheets.records import Draft, Result
from ..sheets.sources import parse_field
from ..sheets.values import ValueProblem
from .columns import camel, description, is_boolean, screen_fields, search_fields, shown
from .commands import by_field
from .lookups import LookupField
from .privacy import derived_refusal

EMPTY_CHOICE = SelectChoice("", "")
# Optimistic locking across a form's round-trip (or an API client's read and write): the
# version the clerk saw travels with the form as `_version` (API: "version").
VERSION_FIELD = "_version"
STALE_FORM_MESSAGE = ("保存未完成：您打开此记录后，它已被其他人修改（当前为第 {version} 版）。"
                      "请核对下列内容后再次保存；您填写的内容仍保留在表单中。")


class Parse:
    """WTForms validator: the column's own parser (the importer's, `parse_field`), so a form
    normalises as an import does (full-width digits, 30万元, 2015年3月1日 …) and says what is
    wrong in the importer's words. A masked ID number sent back unchanged keeps the stored one."""

    def __init__(self, col: Col):
        self.col = col
        # The red * of a required field (general/lib.html); not the browser's own "required",
        # which would stop the form before the clerk sees the app's Chinese message.
        self.field_flags = {"qd_required": True} if col.required and not col.info else {}

    def __call__(self, form, field):
        field.parsed = None
        stored = getattr(form, "_stored", None)
        original = getattr(stored, self.col.field, None)
        field.kept = self.col.shows_masked(field.data, original)  # sent back as shown
        if self.col.derived_from and stored is not None:  # 出生日期 changes with its number
            kept = field.kept or (original in (None, "") and not (field.data or "").strip())
            source_kept = getattr(form[self.col.derived_from], "kept", False)
            refusal = derived_refusal(self.col, form.sheet.column(self.col.derived_from),
                                      kept=kept, source_kept=source_kept, stored=original)
            if refusal:
                raise ValidationError(refusal)
        try:
            field.parsed = parse_field(self.col, field.data,
                                       getattr(stored, self.col.field, None))
        except ValueProblem as exc:
            raise ValidationError(exc.message) from None


class _Parsed:
    parsed = None

    def populate_obj(self, obj, name):
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


class DateWidget:
    """A date field with the picker (bootstrap-datepicker in Chinese, qingdan-defaults.js):
    it opens at the field's own date and keeps a pasted date as typed. FAB's own gives every
    date field the same id and a calendar before the box."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        attrs = dict(type="text", name=field.name, value=field.data or "", autocomplete="off",
                     placeholder="如 2015-03-01", **kwargs)
        attrs["class"] = f"form-control {attrs.pop('class', '')} {attrs.pop('class_', '')}".strip()
        return Markup('<div class="input-group date appbuilder_date qd-date"><input {}>'
                      '<span class="input-group-addon" aria-hidden="true">'
                      '<i class="fa fa-calendar"></i></span></div>').format(
                          Markup(html_params(**attrs)))


def _form_field(col: Col, label: str):
    kw = dict(label=label, validators=[Parse(col)], description=description(col))
    if col.required:
        kw["render_kw"] = {"aria-required": "true"}
    vt = col.type
    if isinstance(vt, t.Date):
        return TextInput(widget=DateWidget(), **kw)
    if vt.choices is not None and not isinstance(vt, t.Multi):  # 枚举, 是否: a dropdown
        return ChoiceInput(choices=_choices(col), validate_choice=False,
                           widget=Select2Widget(), **kw)
    if isinstance(vt, t.LongText):
        return LongTextInput(widget=BS3TextAreaFieldWidget(), **kw)
    return TextInput(widget=BS3TextFieldWidget(), **kw)  # 多选: text, values in description


def _relation_field(sheet: Sheet, relation: str, label: str):
    """A parent: a type-ahead asking the server (app/web/lookups.py), not the whole table.
    A link (Sheet.links, a screen-only reference) keeps a dropdown of the other list."""
    if relation in sheet.relations:
        cols = sheet.relations[relation]
        notes = [p for c in cols for p in (c.note, *c.rule_notes) if p]
        return LookupField(label, sheet=sheet, relation=relation,
                           required=any(c.required for c in cols),
                           description="；".join(["输入名称或编号中的几个字，从列表中选择", *notes]))
    target = sa.inspect(sheet.model).relationships[relation].mapper.class_
    parent = sheets.for_model(target)
    order = [getattr(target, n) for n in (parent.order_by if parent else ())] + [target.id]

    def query_func():
        return current_app.appbuilder.session.query(target).order_by(*order).all()

    return LinkSelectField(label, query_func=query_func, get_pk_func=lambda obj: obj.id,
                           allow_blank=True, blank_text="请选择…", widget=Select2Widget())


class LinkSelectField(QuerySelectField):
    """FAB's dropdown of records, its empty choice an empty value (FAB sends "__None",
    which a clerk then sees in the page and in messages)."""

    def iter_choices(self):
        for value, label, selected, *rest in super().iter_choices():
            yield ("" if value == "__None" else value, label, selected, *rest)

    def process_formdata(self, valuelist):
        super().process_formdata(["__None" if v == "" else v for v in valuelist])


class VersionField(HiddenField):
    """The version of the record when its edit form was shown (rendered by FAB's
    `form.hidden_tag()`). Compared in `SheetForm.validate`, never written to the record."""

    def populate_obj(self, obj, name):
        pass


class SheetForm(DynamicForm):
    """The add/edit form of a list: each field parsed by its column's type; `draft()` is what
    was typed, for a record command, and `show(result)` puts the command's problems next to
    their fields (warnings are flashed and do not block).

    An edit form carries the version it was shown from (`_version`): a save over someone
    else's later change is refused, the form shown again with what was typed and the current
    version, so that saving once more (the clerk has seen the warning) goes through."""
    sheet: Sheet = None
    _id = None      # FAB sets the edited record's primary key before validate()
    _stored = None  # that record, as stored
    stale = None    # why the form is stale (validate), or None

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

    def sent_version(self) -> int | None:
        """The version the edit form was shown from (None: a form from before `_version`)."""
        if "qd_version" not in self._fields:
            return None
        sent = (self.qd_version.data or "").strip()
        return int(sent) if sent.isascii() and sent.isdigit() else None

    def _refuse_stale(self, version: int) -> None:
        current_app.logger.info(
            "edit refused, %s id=%s changed since its form was shown (form version %s, now %s)",
            self.sheet.slug, self._id, self.sent_version() or "?", version)
        self.qd_version.data = str(version)  # shown again: a second save goes through
        self.stale = STALE_FORM_MESSAGE.format(version=version)
        self.form_errors.append(self.stale)
        flash(self.stale, "danger")  # first, at the top of the re-rendered form

    def validate(self, extra_validators=None):
        """Each field read by its column's parser; an edit form shown before the record's
        last change is stale. No `_version` (a form from before this field) is accepted."""
        if self._id is not None:
            self._stored = current_app.appbuilder.session.get(self.sheet.model, int(self._id))
            sent = self.sent_version()
            if self._stored is not None and sent is not None and sent != self._stored.version:
                self._refuse_stale(self._stored.version)
        return super().validate(extra_validators) and self.stale is None

    def draft(self) -> Draft:
        """What was typed, as a record (parents as instances), with what could not be read."""
        record, problems = {}, []
        for c in self.sheet.columns:
            if c.info:
                continue
            if c.relation:
                parent = self[c.relation].data
                record[c.relation] = parent
                record[c.field] = getattr(parent, c.attr) if parent is not None else None
            else:
                record[c.field] = self[c.field].parsed
                problems += [Problem(c.field, m) for m in self[c.field].errors]
        for name in self.sheet.links:
            if name in self._fields:
                record[name] = self[name].data
        return Draft(record, problems)

    def show(self, result: Result) -> bool:
        """The command's answer on the form: True when it was saved (warnings flashed), else
        each problem next to its field, or at the top for the whole record."""
        for p in result.warnings:
            flash(p.message, "warning")
        if result.ok:
            return True
        if result.stale and result.version is not None and "qd_version" in self._fields:
            self._refuse_stale(result.version)
            return False
        told = {name for name, f in self._fields.items() if f.errors}
        for name, messages in by_field(result.problems, self._fields).items():
            if name is None:
                for message in messages:
                    self.form_errors.append(message)
                    flash(message, "danger")  # shown at the top of the re-rendered form
            elif name not in told:  # a value that could not be read is reported once
                self[name].errors = [*self[name].errors, *messages]
        return False


def build_form(sheet: Sheet, labels: dict[str, str]) -> type[SheetForm]:
    fields = {}
    for name in screen_fields(sheet):
        if name in sheet.relations:
            fields[name] = _relation_field(sheet, name, labels[name])
        else:
            fields[name] = _form_field(sheet.column(name), labels[name])
    for name, link in sheet.links.items():
        fields[name] = _relation_field(sheet, name, link.label)
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
        if name in sheet.relations:  # a parent: the type-ahead, not its whole table (#796)
            out[name] = LookupField(labels[name], sheet=sheet, relation=name, search=True)
            continue
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
