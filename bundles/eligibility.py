"""Who may apply for a bundle: rules over the form's answers, each with its own message.

A rule kind is a small class in ``RULES``; a bundle's rules (``EligibilityRule`` rows) name a
kind, a field and a value. They are checked when a draft is saved and again at submission.
"""

import datetime
from typing import Any, ClassVar

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import ric


class RuleError(ValueError):
    """The rule is defined wrongly (for administrators, not applicants)."""


class Rule:
    label: ClassVar[str]
    field_types: ClassVar[tuple[str, ...]]

    def check_definition(self, field_type: str, value: Any) -> None:
        if field_type not in self.field_types:
            raise RuleError(
                _("此规则只能用于以下类型的字段：%(t)s。") % {"t": ", ".join(self.field_types)}
            )
        self.check_value(value)

    def check_value(self, value: Any) -> None:
        pass

    def holds(self, answer: Any, value: Any, today: datetime.date) -> bool:
        raise NotImplementedError


def _whole_number(value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RuleError(_("参数应为非负整数。"))


def _birth_date(answer, field_is_id: bool) -> datetime.date:
    if field_is_id:
        return ric.get_birth_date(answer)
    return datetime.date.fromisoformat(answer)


def _age_years(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class MaxAgeDays(Rule):
    label = gettext_lazy("日期距今不超过若干天")
    field_types = ("date",)
    check_value = staticmethod(_whole_number)

    def holds(self, answer, value, today):
        day = datetime.date.fromisoformat(answer)
        return day <= today and (today - day).days <= value


class MinAgeYears(Rule):
    label = gettext_lazy("年满若干周岁")
    field_types = ("date", "id_number")
    check_value = staticmethod(_whole_number)

    def holds(self, answer, value, today):
        return _age_years(_birth_date(answer, len(answer) == 18), today) >= value


class MaxAgeYears(MinAgeYears):
    label = gettext_lazy("不超过若干周岁")

    def holds(self, answer, value, today):
        return _age_years(_birth_date(answer, len(answer) == 18), today) <= value


class IdRegion(Rule):
    label = gettext_lazy("身份证号码属于指定地区")
    field_types = ("id_number",)

    def check_value(self, value):
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.isdigit() and 1 <= len(v) <= 6 for v in value)
        ):
            raise RuleError(_('参数应为地区代码前缀的列表，如 ["11", "1201"]。'))

    def holds(self, answer, value, today):
        return any(answer.startswith(prefix) for prefix in value)


class Equals(Rule):
    label = gettext_lazy("等于指定值")
    field_types = ("text", "choice", "number")

    def holds(self, answer, value, today):
        return answer == value


class OneOf(Rule):
    label = gettext_lazy("属于指定值之一")
    field_types = ("text", "choice", "number")

    def check_value(self, value):
        if not isinstance(value, list) or not value:
            raise RuleError(_("参数应为非空列表。"))

    def holds(self, answer, value, today):
        return answer in value


RULES: dict[str, Rule] = {
    "max_age_days": MaxAgeDays(),
    "min_age_years": MinAgeYears(),
    "max_age_years": MaxAgeYears(),
    "id_region": IdRegion(),
    "equals": Equals(),
    "one_of": OneOf(),
}


def rule_choices() -> list[tuple[str, str]]:
    return [(name, rule.label) for name, rule in RULES.items()]


def check(rules, form: dict, today: datetime.date) -> dict[str, list[str]]:
    """Errors by ``form.<key>`` for every rule the clean ``form`` breaks.

    ``rules`` are (rule name, field key, value, message); an unanswered field is left to the
    required-field check.
    """
    errors: dict[str, list[str]] = {}
    for name, key, value, message in rules:
        answer = form.get(key)
        if answer is None:
            continue
        if not RULES[name].holds(answer, value, today):
            errors.setdefault(f"form.{key}", []).append(message)
    return errors
