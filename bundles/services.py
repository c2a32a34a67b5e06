"""What a bundle asks of an applicant: its items, the one form, the materials."""

from dataclasses import replace

from django.utils.translation import gettext as _

from . import dag as dag_utils
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


def bundle_form_schema(bundle: Bundle) -> dict:
    """JSON Schema of the bundle's one form; fields only optional items need are optional."""
    bundle_items = bundle.bundle_items()
    specs = form_specs(bundle_items, [bi for bi in bundle_items if not bi.optional])
    schema = form_schema(specs)
    schema["x-items"] = {
        bi.item.code: sorted(f.key for f in bi.item.fields.all()) for bi in bundle_items
    }
    return schema
