"""The catalogue on disk (YAML) to the database and back; the format is docs/catalogue-format.md.

Loading checks every file first and then writes in one transaction, so a bad file changes
nothing; a second run finds nothing to change. Each kind of row has one canonical dict form
(``*_entry``): loading compares against it, dumping writes it, and the round-trip test
compares it.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from departments import connectors
from departments.models import Department
from departments.signing import department_secret

from . import dag as dag_utils
from .eligibility import RULES, RuleError
from .fieldtypes import TYPE_LABELS, spec_from_dict
from .models import (
    DELIVERY_CHOICES,
    Bundle,
    BundleItem,
    EligibilityRule,
    FormField,
    MaterialType,
    ServiceItem,
)

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "catalogue"
CODE = re.compile(r"^[a-z0-9_]+$")
FIELD_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

DEPARTMENT_DEFAULTS = {"handling": "manual"}
FIELD_DEFAULTS = {
    "required": True, "options": [], "max_length": 200, "min_value": None, "max_value": None,
    "item_fields": [], "min_items": 1, "max_items": 20, "section": "", "position": 0,
    "help_text": "", "sensitive": False,
}  # fmt: skip
MATERIAL_DEFAULTS = {
    "required": True, "accepted_types": ["pdf", "jpg", "png"], "max_size_mb": 10,
    "may_follow_later": False, "e_certificate": False, "description": "",
}  # fmt: skip
ITEM_DEFAULTS = {
    "time_limit_days": 5, "before_days": None, "description": "", "fields": [], "materials": [],
    "results": [],
}  # fmt: skip
PLACEMENT_DEFAULTS = {"depends_on": [], "optional": False}
BUNDLE_DEFAULTS = {
    "version": 1, "life_event": "", "keywords": [], "batch": "", "lead_department": None,
    "state": "published", "description": "", "source": "", "savings": {},
    "delivery": list(DELIVERY_CHOICES), "eligibility": [], "founds_enterprise": "",
}  # fmt: skip
REQUIRED = {
    "department": ("code", "name"),
    "field": ("key", "label", "type"),
    "material": ("code", "name"),
    "bundle": ("code", "name", "audience", "items"),
    "item": ("code", "name", "department"),
    "rule": ("rule", "field", "value", "message"),
}


class CatalogueError(Exception):
    def __init__(self, path, problem, bundle=None):
        where = Path(path).name + (f", bundle {bundle}" if bundle else "")
        super().__init__(f"{where}: {problem}")


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


# --- canonical forms --------------------------------------------------------------------------
def department_entry(department: Department) -> dict:
    return {"code": department.code, "name": department.name, "handling": department.handling}


def field_entry(form_field: FormField) -> dict:
    return {"key": form_field.key, "label": form_field.label, "type": form_field.type} | {
        name: getattr(form_field, name) for name in FIELD_DEFAULTS
    }


def material_entry(material: MaterialType) -> dict:
    return {"code": material.code, "name": material.name} | {
        name: getattr(material, name) for name in MATERIAL_DEFAULTS
    }


def item_entry(item: ServiceItem) -> dict:
    return {
        "code": item.code,
        "name": item.name,
        "department": item.department.code,
        "time_limit_days": item.time_limit_days,
        "before_days": item.before_days,
        "description": item.description,
        "fields": sorted(f.key for f in item.fields.all()),
        "materials": sorted(m.code for m in item.materials.all()),
        "results": list(item.results),
    }


def bundle_entry(bundle: Bundle) -> dict:
    return {
        "code": bundle.code,
        "version": bundle.version,
        "name": bundle.name,
        "audience": bundle.audience,
        "life_event": bundle.life_event,
        "keywords": list(bundle.keywords),
        "batch": bundle.batch,
        "lead_department": bundle.lead_department.code if bundle.lead_department_id else None,
        "state": bundle.state,
        "description": bundle.description,
        "source": bundle.source,
        "savings": dict(bundle.savings),
        "delivery": list(bundle.delivery_options) or list(DELIVERY_CHOICES),
        "founds_enterprise": bundle.founding_item_code,
        "eligibility": [
            {"rule": r.rule, "field": r.field.key, "value": r.value, "message": r.message}
            for r in bundle.eligibility_rules.select_related("field")
        ],
        "items": [
            item_entry(bi.item)
            | {"depends_on": sorted(d.code for d in bi.depends_on.all()), "optional": bi.optional}
            for bi in bundle.bundle_items()
        ],
    }


def _normal(entry: dict, defaults: dict) -> dict:
    return {**defaults, **entry}


def _normal_item(entry: dict) -> dict:
    item = _normal(entry, ITEM_DEFAULTS | PLACEMENT_DEFAULTS)
    for key in ("fields", "materials", "depends_on"):
        item[key] = sorted(item[key])
    return item


def _normal_bundle(data: dict) -> dict:
    bundle = _normal(data, BUNDLE_DEFAULTS)
    bundle["description"] = (bundle["description"] or "").strip()
    bundle["items"] = [_normal_item(item) for item in data["items"]]
    return bundle


# --- reading and checking ---------------------------------------------------------------------
def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(path, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogueError(path, "the file must hold a mapping at its top level")
    return data


def _entries(path: Path, key: str, kind: str, allowed: set[str]) -> list[dict]:
    if not path.exists():
        return []
    entries = read_yaml(path).get(key) or []
    for entry in entries:
        _check_keys(path, entry, kind, allowed)
    return entries


def _check_keys(path, entry, kind, allowed, bundle=None):
    if not isinstance(entry, dict):
        raise CatalogueError(path, f"a {kind} must be a mapping, not {entry!r}", bundle)
    missing = [name for name in REQUIRED[kind] if entry.get(name) in (None, "", [])]
    name = entry.get("code") or entry.get("key") or entry.get("rule")
    if missing:
        raise CatalogueError(path, f"{kind} {name!r} lacks {', '.join(missing)}", bundle)
    unknown = set(entry) - allowed
    if unknown:
        raise CatalogueError(path, f"{kind} {name!r}: unknown keys {sorted(unknown)}", bundle)


def _check_field(path, entry):
    if not FIELD_KEY.match(str(entry["key"])):
        raise CatalogueError(path, f"field {entry['key']!r}: key must be dotted lower-case words")
    if entry["type"] not in TYPE_LABELS:
        raise CatalogueError(path, f"field {entry['key']}: unknown type {entry['type']!r}")
    if entry["type"] == "choice" and not entry.get("options"):
        raise CatalogueError(path, f"field {entry['key']}: a choice needs options")
    if entry["type"] == "group":
        if not entry.get("item_fields"):
            raise CatalogueError(path, f"field {entry['key']}: a group needs item_fields")
        try:
            for sub in entry["item_fields"]:
                spec_from_dict(sub)
        except (TypeError, ValueError) as exc:
            raise CatalogueError(path, f"field {entry['key']}: {exc}") from None


def _check_bundle(path, data, known, items_seen):
    code = data.get("code")
    _check_keys(path, data, "bundle", set(BUNDLE_DEFAULTS) | {"code", "name", "audience", "items"})
    if not CODE.match(str(code)):
        raise CatalogueError(path, "code must be lower-case letters, digits and _", code)
    if data["audience"] not in Bundle.Audience.values:
        raise CatalogueError(path, f"audience must be one of {Bundle.Audience.values}", code)
    if data.get("state", "published") not in ("published", "draft"):
        raise CatalogueError(path, "state must be published or draft", code)
    if data.get("lead_department") and data["lead_department"] not in known["departments"]:
        raise CatalogueError(path, f"unknown lead_department {data['lead_department']!r}", code)
    for option in data.get("delivery", []):
        if option not in DELIVERY_CHOICES:
            raise CatalogueError(
                path, f"delivery {option!r} is not one of {DELIVERY_CHOICES}", code
            )
    item_codes = [item.get("code") for item in data["items"] if isinstance(item, dict)]
    if len(set(item_codes)) != len(item_codes):
        raise CatalogueError(path, "an item appears twice", code)
    for item in data["items"]:
        _check_keys(
            path,
            item,
            "item",
            set(ITEM_DEFAULTS) | set(PLACEMENT_DEFAULTS) | {"code", "name", "department"},
            code,
        )
        name = item["code"]
        if not CODE.match(str(name)):
            raise CatalogueError(
                path, f"item {name!r}: code must be lower-case letters, digits and _", code
            )
        for ref, kind in ((item["department"], "departments"),):
            if ref not in known[kind]:
                raise CatalogueError(path, f"item {name}: unknown department {ref!r}", code)
        for key in item.get("fields", []):
            if key not in known["fields"]:
                raise CatalogueError(path, f"item {name}: unknown field {key!r}", code)
        for material in item.get("materials", []):
            if material not in known["materials"]:
                raise CatalogueError(path, f"item {name}: unknown material {material!r}", code)
        try:
            for result in item.get("results", []):
                spec_from_dict(result)
        except (TypeError, ValueError) as exc:
            raise CatalogueError(path, f"item {name}: results: {exc}", code) from None
        for dep in item.get("depends_on", []):
            if dep not in item_codes:
                raise CatalogueError(
                    path, f"item {name} depends on {dep!r}, which is not in the bundle", code
                )
        definition = {k: v for k, v in _normal_item(item).items() if k not in PLACEMENT_DEFAULTS}
        first = items_seen.setdefault(name, (path, definition))
        if first[1] != definition:
            raise CatalogueError(
                path, f"item {name} is defined differently in {Path(first[0]).name}", code
            )
    if data.get("founds_enterprise") and data["founds_enterprise"] not in item_codes:
        raise CatalogueError(
            path,
            f"founds_enterprise {data['founds_enterprise']!r} is not an item of the bundle",
            code,
        )
    cycle = dag_utils.find_cycle({i["code"]: set(i.get("depends_on", [])) for i in data["items"]})
    if cycle:
        raise CatalogueError(path, f"dependency cycle: {' → '.join(cycle)}", code)
    fields_of_bundle = {key for item in data["items"] for key in item.get("fields", [])}
    for rule in data.get("eligibility", []):
        _check_keys(path, rule, "rule", {"rule", "field", "value", "message"}, code)
        if rule["rule"] not in RULES:
            raise CatalogueError(path, f"unknown eligibility rule {rule['rule']!r}", code)
        if rule["field"] not in fields_of_bundle:
            raise CatalogueError(
                path, f"eligibility rule on {rule['field']!r}, a field no item asks", code
            )
        try:
            RULES[rule["rule"]].check_definition(known["field_types"][rule["field"]], rule["value"])
        except RuleError as exc:
            raise CatalogueError(path, f"eligibility rule {rule['rule']}: {exc}", code) from None


# --- loading ----------------------------------------------------------------------------------
def load(directory: Path = DEFAULT_DIRECTORY) -> LoadReport:
    directory = Path(directory)
    departments = _entries(
        directory / "departments.yaml", "departments", "department", {"code", "name", "handling"}
    )
    fields = _entries(
        directory / "fields.yaml", "fields", "field", {"key", "label", "type", *FIELD_DEFAULTS}
    )
    materials = _entries(
        directory / "materials.yaml", "materials", "material", {"code", "name", *MATERIAL_DEFAULTS}
    )
    for entry in departments:
        if entry.get("handling", "manual") not in dict(connectors.choices()):
            raise CatalogueError(
                "departments.yaml",
                f"department {entry['code']}: unknown handling {entry['handling']!r}",
            )
    for entry in fields:
        _check_field(directory / "fields.yaml", entry)
    known = {
        "departments": {e["code"] for e in departments}
        | set(Department.objects.values_list("code", flat=True)),
        "fields": {e["key"] for e in fields} | set(FormField.objects.values_list("key", flat=True)),
        "materials": {e["code"] for e in materials}
        | set(MaterialType.objects.values_list("code", flat=True)),
        "field_types": dict(FormField.objects.values_list("key", "type"))
        | {e["key"]: e["type"] for e in fields},
    }
    bundles = [(path, read_yaml(path)) for path in sorted((directory / "bundles").glob("*.yaml"))]
    items_seen: dict = {}
    for path, data in bundles:
        _check_bundle(path, data, known, items_seen)

    report = LoadReport()
    with transaction.atomic():
        for entry in departments:
            _load_department(entry, report)
        for entry in fields:
            wanted = _normal(entry, FIELD_DEFAULTS)
            _save(FormField, "key", wanted, field_entry, report, "field")
        for entry in materials:
            _save(
                MaterialType,
                "code",
                _normal(entry, MATERIAL_DEFAULTS),
                material_entry,
                report,
                "material",
            )
        for path, data in bundles:
            _load_bundle(path, _normal_bundle(data), report)
    return report


def _save(model, key_name, wanted: dict, entry_of, report, label):
    obj = model.objects.filter(**{key_name: wanted[key_name]}).first()
    if obj is not None and entry_of(obj) == wanted:
        return obj
    if obj is None:
        obj = model()
        report.created.append(f"{label} {wanted[key_name]}")
    else:
        report.updated.append(f"{label} {wanted[key_name]}")
    for name, value in wanted.items():
        setattr(obj, name, value)
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise CatalogueError(f"{label}s", f"{label} {wanted[key_name]}: {exc.messages}") from None
    obj.save()
    return obj


def _load_department(entry: dict, report: LoadReport) -> None:
    wanted = _normal(entry, DEPARTMENT_DEFAULTS)
    department = Department.objects.filter(code=wanted["code"]).first()
    if department is not None and department_entry(department) == wanted:
        return
    if department is None:
        department = Department(code=wanted["code"])
        report.created.append(f"department {wanted['code']}")
    else:
        report.updated.append(f"department {wanted['code']}")
    department.name = wanted["name"]
    department.handling = wanted["handling"]
    if department.connector.required_settings and not department.base_url:
        # A system whose address the catalogue cannot know: the simulator stands in for it
        # until an administrator enters the real one (which a reload never overwrites). Each
        # department gets a secret of its own, which the simulator derives the same way.
        department.base_url = f"{settings.DEPARTMENT_SIMULATOR_URL}/departments/{wanted['code']}"
        department.shared_secret = department_secret(
            settings.DEPARTMENT_SIMULATOR_SECRET, wanted["code"]
        )
    department.full_clean()
    department.save()


def _load_item(item: dict, report: LoadReport) -> ServiceItem:
    wanted = {k: v for k, v in item.items() if k not in PLACEMENT_DEFAULTS}
    service_item = (
        ServiceItem.objects.filter(code=wanted["code"]).select_related("department").first()
    )
    if service_item is not None and item_entry(service_item) == wanted:
        return service_item
    if service_item is None:
        service_item = ServiceItem(code=wanted["code"])
        report.created.append(f"item {wanted['code']}")
    else:
        report.updated.append(f"item {wanted['code']}")
    service_item.name = wanted["name"]
    service_item.department = Department.objects.get(code=wanted["department"])
    service_item.time_limit_days = wanted["time_limit_days"]
    service_item.before_days = wanted["before_days"]
    service_item.description = wanted["description"]
    service_item.results = wanted["results"]
    service_item.save()
    service_item.fields.set(FormField.objects.filter(key__in=wanted["fields"]))
    service_item.materials.set(MaterialType.objects.filter(code__in=wanted["materials"]))
    return service_item


def _load_bundle(path: Path, wanted: dict, report: LoadReport) -> None:
    code, version = wanted["code"], wanted["version"]
    items = {item["code"]: _load_item(item, report) for item in wanted["items"]}
    bundle = Bundle.objects.filter(code=code, version=version).first()
    if bundle is not None and bundle_entry(bundle) == wanted:
        return
    if bundle is not None and bundle.applications.exists():
        raise CatalogueError(
            path,
            f"version {version} already has applications; give the changed bundle a new version",
            code,
        )
    if bundle is not None and bundle.state != Bundle.State.DRAFT and wanted["state"] == "draft":
        raise CatalogueError(
            path, f"version {version} is {bundle.state}; give the draft a new version", code
        )
    if bundle is None:
        bundle = Bundle(code=code, version=version)
        report.created.append(f"bundle {code} v{version}")
    else:
        report.updated.append(f"bundle {code} v{version}")
    bundle.name = wanted["name"]
    bundle.audience = wanted["audience"]
    bundle.life_event = wanted["life_event"]
    bundle.keywords = wanted["keywords"]
    bundle.batch = wanted["batch"]
    bundle.lead_department = Department.objects.filter(code=wanted["lead_department"]).first()
    bundle.description = wanted["description"]
    bundle.source = wanted["source"]
    bundle.savings = wanted["savings"]
    bundle.delivery_options = [] if wanted["delivery"] == DELIVERY_CHOICES else wanted["delivery"]
    bundle.founding_item_code = wanted["founds_enterprise"]
    bundle.save()
    bundle.items.all().delete()
    for position, item in enumerate(wanted["items"]):
        placed = BundleItem.objects.create(
            bundle=bundle, item=items[item["code"]], optional=item["optional"], position=position
        )
        placed.depends_on.set([items[d] for d in item["depends_on"]])
    bundle.eligibility_rules.all().delete()
    for position, rule in enumerate(wanted["eligibility"]):
        EligibilityRule.objects.create(
            bundle=bundle,
            rule=rule["rule"],
            field=FormField.objects.get(key=rule["field"]),
            value=rule["value"],
            message=rule["message"],
            position=position,
        )
    if wanted["state"] == "published" and bundle.state != Bundle.State.PUBLISHED:
        from .services import publish

        try:
            publish(bundle)
        except ValidationError as exc:
            raise CatalogueError(path, "; ".join(exc.messages), code) from None


# --- dumping ----------------------------------------------------------------------------------
def _compact(entry: dict, defaults: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in defaults or defaults[k] != v}


def dump(directory: Path) -> list[Path]:
    """Write the database's catalogue to ``directory``; return the files written.

    Each bundle's version in service goes to ``<code>.yaml`` (the published one, or the
    newest when none is published) and a newer draft beside it to ``<code>.draft.yaml``, so
    that a draft in progress never takes the place of what citizens apply for. Secrets and
    system addresses are never written: they belong in the admin, not in git.
    """
    directory = Path(directory)
    (directory / "bundles").mkdir(parents=True, exist_ok=True)
    written = []

    def write(path: Path, data: dict, header: str) -> None:
        text = yaml.safe_dump(
            data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
        )
        path.write_text(f"# {header}\n{text}", encoding="utf-8")
        written.append(path)

    write(
        directory / "departments.yaml",
        {
            "departments": [
                _compact(department_entry(d), DEPARTMENT_DEFAULTS)
                for d in Department.objects.order_by("code")
            ]
        },
        "Departments; written by manage.py dump_catalogue.",
    )
    write(
        directory / "fields.yaml",
        {
            "fields": [
                _compact(field_entry(f), FIELD_DEFAULTS)
                for f in FormField.objects.order_by("position", "key")
            ]
        },
        "The shared field dictionary; written by manage.py dump_catalogue.",
    )
    write(
        directory / "materials.yaml",
        {
            "materials": [
                _compact(material_entry(m), MATERIAL_DEFAULTS)
                for m in MaterialType.objects.order_by("code")
            ]
        },
        "Materials; written by manage.py dump_catalogue.",
    )
    versions: dict[str, list[Bundle]] = {}
    for bundle in Bundle.objects.order_by("code", "version"):
        versions.setdefault(bundle.code, []).append(bundle)
    for code, kept in versions.items():
        in_service = next((b for b in kept if b.state == Bundle.State.PUBLISHED), kept[-1])
        files = {f"{code}.yaml": in_service}
        if kept[-1].state == Bundle.State.DRAFT and kept[-1] != in_service:
            files[f"{code}.draft.yaml"] = kept[-1]
        for name, bundle in files.items():
            entry = bundle_entry(bundle)
            entry["items"] = [
                _compact(item, ITEM_DEFAULTS | PLACEMENT_DEFAULTS) for item in entry["items"]
            ]
            write(
                directory / "bundles" / name,
                _compact(entry, BUNDLE_DEFAULTS | {"version": None}),
                f"{bundle.name}; written by manage.py dump_catalogue.",
            )
    return written


def snapshot() -> dict:
    """The whole catalogue in canonical form, to compare two databases."""
    return {
        "departments": [department_entry(d) for d in Department.objects.order_by("code")],
        "fields": [field_entry(f) for f in FormField.objects.order_by("key")],
        "materials": [material_entry(m) for m in MaterialType.objects.order_by("code")],
        "bundles": [bundle_entry(b) for b in Bundle.objects.order_by("code", "version")],
    }
