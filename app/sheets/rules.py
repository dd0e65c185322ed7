"""Rule factories: the common cross-field rules, each written once, giving both the check and
the help text of the columns it constrains (in the template, its instructions and the form).

    rules=[dates_in_order("appointed_on", "term_ends_on"),
           required_when("charged", True, then=("charge_basis", "charge_standard"))]

A factory's rule is bound to its Sheet when the Sheet is declared (labels come from the
columns); a plain function `record -> Problems` remains a rule too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from .declare import Problem, error

_ANY = object()


class FieldRule:
    """A rule made by a factory: `bind(sheet)` gives the check and {field: help text}."""

    def bind(self, sheet) -> tuple[Callable[[dict], Iterator[Problem]], dict[str, str]]:
        raise NotImplementedError


class _DatesInOrder(FieldRule):
    def __init__(self, first: str, then: str, strict: bool):
        self.first, self.then, self.strict = first, then, strict

    def bind(self, sheet):
        a, b = sheet.label(self.first), sheet.label(self.then)
        first, then, strict = self.first, self.then, self.strict

        def check(r: dict) -> Iterator[Problem]:
            start, end = r.get(first), r.get(then)
            if not start or not end:
                return
            if strict and end <= start:
                yield error(then, f"「{b}」{end.isoformat()} 应晚于「{a}」{start.isoformat()}："
                                  "请核对两个日期")
            elif not strict and end < start:
                yield error(then, f"「{b}」{end.isoformat()} 早于「{a}」{start.isoformat()}："
                                  "请核对两个日期")
        check.__name__ = f"{then}_after_{first}"
        return check, {then: f"应晚于{a}" if strict else f"不得早于{a}"}


def dates_in_order(first: str, then: str, *, strict: bool = True) -> FieldRule:
    """`then` comes after `first` (strict) or not before it, when both are given."""
    return _DatesInOrder(first, then, strict)


class _RequiredWhen(FieldRule):
    def __init__(self, field: str, equals, not_in: tuple, then: tuple[str, ...], hint: str):
        self.field, self.equals, self.not_in = field, equals, not_in
        self.then, self.hint = then, hint

    def applies(self, value) -> bool:
        if self.equals is not _ANY:
            return value == self.equals
        return value not in (None, "") and value not in self.not_in

    def bind(self, sheet):
        col = sheet.column(self.field)
        label = sheet.label(self.field)
        hint = f"；{self.hint}" if self.hint else ""

        def check(r: dict) -> Iterator[Problem]:
            value = r.get(self.field)
            if not self.applies(value):
                return
            shown = col.type.to_text(value)
            for name in self.then:
                if r.get(name) in (None, ""):
                    yield error(name, f"「{label}」为“{shown}”时必须填写「{sheet.label(name)}」{hint}")
        check.__name__ = f"required_when_{self.field}"
        if self.equals is not _ANY:
            when = f"「{label}」为“{col.type.to_text(self.equals)}”时必填"
        else:
            others = "、".join(f"“{v}”" for v in self.not_in)
            when = f"「{label}」不为{others}时必填"
        return check, {name: when for name in self.then}


def required_when(field: str, equals=_ANY, *, not_in: tuple = (), then: tuple[str, ...],
                  hint: str = "") -> FieldRule:
    """The fields `then` must be filled when `field` equals `equals` — or, with `not_in`, when
    it is given and is none of those values. `hint` is added to the message."""
    if (equals is _ANY) == (not not_in):
        raise ValueError("required_when: give either equals or not_in")
    return _RequiredWhen(field, equals, tuple(not_in), tuple(then), hint)
