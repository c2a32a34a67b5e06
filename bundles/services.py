"""What a bundle asks of an applicant, and how administrators version and publish bundles."""

import datetime
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from . import dag as dag_utils
from . import eligibility
from .fieldtypes import FieldSpec, form_schema
from .models import Bundle, BundleItem


class ChoiceError(ValueError):
    """The optional items chosen do not fit the bundle."""


def chosen_bundle_items(bundle: Bundle, optional_codes) -> list[BundleItem]:
    """The bundle's required items plus the chosen optional ones, in the bundle's order."""
    bundle_items = bundle.bundle_items()
    optional = {bi.item.code for bi in bundle_items if bi.optional}
    chosen = set(optional_codes or ())
    unknown = chosen - optional
    if unknown:
        raise ChoiceError(
            _("以下事项不是本一件事的选办事项：%(codes)s。") % {"codes": "、".join(sorted(unknown))}
        )
    return [bi for bi in bundle_items if not bi.optional or bi.item.code in chosen]


def application_dag(bundle: Bundle, bundle_items: list[BundleItem]) -> dict[str, frozenset[str]]:
    """The bundle's DAG shrunk to the items applied for."""
    return dag_utils.restrict(bundle.dag(), [bi.item.code for bi in bundle_items])


def form_specs(bundle_items: list[BundleItem], required_items=None) -> list[FieldSpec]:
    """The union of the items' fields, each asked once, in the dictionary's order.

    A field is required when a required item (all of ``bundle_items`` unless
    ``required_items`` narrows them) needs it as required.
    """
    required_items = bundle_items if required_items is None else required_items
    required_ids = {bi.pk for bi in required_items}
    fields = {}
    needed: set[str] = set()
    for bi in bundle_items:
        for field in bi.item.fields.all():
            fields[field.key] = field
            if field.required and bi.pk in required_ids:
                needed.add(field.key)
    ordered = sorted(fields.values(), key=lambda f: (f.position, f.key))
    return [replace(f.spec(), required=f.key in needed) for f in ordered]


def item_specs(item) -> list[FieldSpec]:
    """The fields one service item needs, in the dictionary's order: what its department
    may see of an application."""
    fields = sorted(item.fields.all(), key=lambda f: (f.position, f.key))
    return [f.spec() for f in fields]


def bundle_form_schema(bundle: Bundle) -> dict:
    """JSON Schema of the bundle's one form; fields only optional items need are optional."""
    bundle_items = bundle.bundle_items()
    specs = form_specs(bundle_items, [bi for bi in bundle_items if not bi.optional])
    schema = form_schema(specs)
    schema["x-items"] = {
        bi.item.code: sorted(f.key for f in bi.item.fields.all()) for bi in bundle_items
    }
    schema["x-eligibility"] = [
        {"rule": rule.rule, "field": rule.field.key, "value": rule.value, "message": rule.message}
        for rule in bundle.eligibility_rules.select_related("field")
    ]
    return schema


def eligibility_errors(bundle: Bundle, form: dict, today: datetime.date) -> dict[str, list[str]]:
    rules = [
        (rule.rule, rule.field.key, rule.value, rule.message)
        for rule in bundle.eligibility_rules.select_related("field")
    ]
    return eligibility.check(rules, form, today)


# --- versions ---------------------------------------------------------------------------------
def publish(bundle: Bundle) -> Bundle:
    """Publish a version after checking it; the version published before is taken down.

    Applications already submitted keep running on the version they were submitted under.
    """
    if not can_proceed(bundle.publish):
        raise ValidationError(
            _("“%(b)s”当前为“%(s)s”，不能发布。") % {"b": bundle, "s": bundle.get_state_display()}
        )
    problems = bundle.problems()
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        for other in Bundle.objects.published().filter(code=bundle.code).exclude(pk=bundle.pk):
            other.unpublish()
            other.save()
        bundle.publish()
        bundle.save()
    return bundle


def unpublish(bundle: Bundle) -> Bundle:
    """Hide a bundle from new applications; applications in flight are not touched."""
    if not can_proceed(bundle.unpublish):
        raise ValidationError(
            _("“%(b)s”当前为“%(s)s”，不能下架。") % {"b": bundle, "s": bundle.get_state_display()}
        )
    bundle.unpublish()
    bundle.save()
    return bundle


def new_draft_version(bundle: Bundle) -> Bundle:
    """A draft copy of ``bundle`` as the next version, to be edited and published."""
    existing = Bundle.objects.filter(code=bundle.code, state=Bundle.State.DRAFT).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        latest = Bundle.objects.filter(code=bundle.code).order_by("-version").first()
        copy = Bundle.objects.create(
            code=bundle.code,
            version=latest.version + 1,
            **{
                name: getattr(bundle, name)
                for name in (
                    "name",
                    "audience",
                    "life_event",
                    "keywords",
                    "batch",
                    "lead_department",
                    "description",
                    "source",
                    "savings",
                    "delivery_options",
                    "founding_item_code",
                )
            },
        )
        for bi in bundle.bundle_items():
            new_item = BundleItem.objects.create(
                bundle=copy, item=bi.item, optional=bi.optional, position=bi.position
            )
            new_item.depends_on.set(bi.depends_on.all())
        for rule in bundle.eligibility_rules.all():
            rule.pk = None
            rule.bundle = copy
            rule.save()
    return copy


def promised_days(bundle: Bundle, bundle_items=None) -> int:
    """Working days promised for the whole bundle: the longest chain of item time limits."""
    bundle_items = bundle.bundle_items() if bundle_items is None else bundle_items
    limits = {bi.item.code: bi.item.time_limit_days for bi in bundle_items}
    return dag_utils.longest_path(bundle.dag(bundle_items), limits)


def materials_of(bundle_items) -> list:
    """Each material the items ask for, once, in the order first asked."""
    seen = {}
    for bi in bundle_items:
        for material in bi.item.materials.all():
            seen.setdefault(material.code, material)
    return list(seen.values())
