"""The catalogue on disk (YAML) into the database, safely and more than once.

Layout of a catalogue folder: ``departments.yaml``, ``fields.yaml``, ``materials.yaml`` and
``bundles/*.yaml``, one bundle per file. Loading checks everything first and then writes in
one transaction, so a bad file changes nothing; running it again changes nothing either.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from departments.models import Department

from . import dag as dag_utils
from .fieldtypes import TYPE_LABELS
from .models import Bundle, BundleItem, FormField, MaterialType, ServiceItem

DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "catalogue"


class CatalogueError(Exception):
    def __init__(self, path, problem, bundle=None):
        where = f"{Path(path).name}" + (f", bundle {bundle}" if bundle else "")
        super().__init__(f"{where}: {problem}")


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(path, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogueError(path, "the file must hold a mapping at its top level")
    return data


def load(directory: Path = DEFAULT_DIRECTORY) -> LoadReport:
    directory = Path(directory)
    departments = _entries(directory / "departments.yaml", "departments", ("code", "name"))
    fields = _entries(directory / "fields.yaml", "fields", ("key", "label", "type"))
    materials = _entries(directory / "materials.yaml", "materials", ("code", "name"))
    for path, entry in fields:
        if entry["type"] not in TYPE_LABELS:
            raise CatalogueError(path, f"field {entry['key']}: unknown type {entry['type']!r}")
    bundle_files = sorted((directory / "bundles").glob("*.yaml"))
    bundles = [(path, read_yaml(path)) for path in bundle_files]
    known = {
        "departments": {e["code"] for _p, e in departments}
        | set(Department.objects.values_list("code", flat=True)),
        "fields": {e["key"] for _p, e in fields}
        | set(FormField.objects.values_list("key", flat=True)),
        "materials": {e["code"] for _p, e in materials}
        | set(MaterialType.objects.values_list("code", flat=True)),
    }
    for path, data in bundles:
        _check_bundle(path, data, known)

    report = LoadReport()
    with transaction.atomic():
        for _path, entry in departments:
            _load_department(entry, report)
        for _path, entry in fields:
            _save(
                FormField,
                {"key": entry["key"]},
                {k: v for k, v in entry.items() if k != "key"},
                report,
                f"field {entry['key']}",
            )
        for _path, entry in materials:
            _save(
                MaterialType,
                {"code": entry["code"]},
                {k: v for k, v in entry.items() if k != "code"},
                report,
                f"material {entry['code']}",
            )
        for path, data in bundles:
            _load_bundle(path, data, report)
    return report


def _entries(path: Path, key: str, required: tuple[str, ...]) -> list[tuple[Path, dict]]:
    if not path.exists():
        return []
    entries = read_yaml(path).get(key) or []
    for entry in entries:
        missing = [name for name in required if not entry.get(name)]
        if missing:
            raise CatalogueError(path, f"an entry of {key} lacks {', '.join(missing)}: {entry!r}")
    return [(path, entry) for entry in entries]


def _check_bundle(path: Path, data: dict, known: dict) -> None:
    code = data.get("code")
    for name in ("code", "name", "audience", "items"):
        if not data.get(name):
            raise CatalogueError(path, f"missing {name!r}", code)
    if data["audience"] not in Bundle.Audience.values:
        raise CatalogueError(path, f"audience must be one of {Bundle.Audience.values}", code)
    item_codes = [item.get("code") for item in data["items"]]
    if len(set(item_codes)) != len(item_codes):
        raise CatalogueError(path, "an item appears twice", code)
    for item in data["items"]:
        for name in ("code", "name", "department"):
            if not item.get(name):
                raise CatalogueError(path, f"item {item.get('code')!r} lacks {name!r}", code)
        if item["department"] not in known["departments"]:
            raise CatalogueError(
                path, f"item {item['code']}: unknown department {item['department']!r}", code
            )
        for key in item.get("fields", []):
            if key not in known["fields"]:
                raise CatalogueError(path, f"item {item['code']}: unknown field {key!r}", code)
        for material in item.get("materials", []):
            if material not in known["materials"]:
                raise CatalogueError(
                    path, f"item {item['code']}: unknown material {material!r}", code
                )
        for dep in item.get("depends_on", []):
            if dep not in item_codes:
                raise CatalogueError(
                    path,
                    f"item {item['code']} depends on {dep!r}, which is not in the bundle",
                    code,
                )
    cycle = dag_utils.find_cycle({i["code"]: set(i.get("depends_on", [])) for i in data["items"]})
    if cycle:
        raise CatalogueError(path, f"dependency cycle: {' → '.join(cycle)}", code)


def _save(model, lookup: dict, values: dict, report: LoadReport, label: str):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        report.created.append(label)
        return obj
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if changed:
        for k, v in changed.items():
            setattr(obj, k, v)
        obj.full_clean()
        obj.save()
        report.updated.append(label)
    return obj


def _load_department(entry: dict, report: LoadReport) -> None:
    values = {"name": entry["name"], "handling": entry.get("handling", "manual")}
    existing = Department.objects.filter(code=entry["code"]).first()
    if values["handling"] == "http" and not (existing and existing.base_url):
        # A system whose address the catalogue cannot know: the simulator stands in for it.
        values["base_url"] = f"{settings.DEPARTMENT_SIMULATOR_URL}/departments/{entry['code']}"
        values["shared_secret"] = settings.DEPARTMENT_SIMULATOR_SECRET
    try:
        _save(Department, {"code": entry["code"]}, values, report, f"department {entry['code']}")
    except ValidationError as exc:
        raise CatalogueError(
            "departments.yaml", f"department {entry['code']}: {exc.messages}"
        ) from None


def _load_bundle(path: Path, data: dict, report: LoadReport) -> None:
    code, version = data["code"], int(data.get("version", 1))
    for item in data["items"]:
        service_item = _save(
            ServiceItem,
            {"code": item["code"]},
            {
                "name": item["name"],
                "department": Department.objects.get(code=item["department"]),
                "time_limit_days": int(item.get("time_limit_days", 5)),
                "description": item.get("description", ""),
            },
            report,
            f"item {item['code']}",
        )
        _set_m2m(
            service_item.fields,
            FormField.objects.filter(key__in=item.get("fields", [])),
            report,
            f"item {item['code']} fields",
        )
        _set_m2m(
            service_item.materials,
            MaterialType.objects.filter(code__in=item.get("materials", [])),
            report,
            f"item {item['code']} materials",
        )
    bundle = Bundle.objects.filter(code=code, version=version).first()
    wanted = _bundle_shape(data)
    if bundle is not None and shape_of(bundle) == wanted:
        return
    if bundle is not None and bundle.applications.exists():
        raise CatalogueError(
            path,
            f"version {version} already has applications; give the changed bundle a new version",
            code,
        )
    if bundle is None:
        bundle = Bundle(code=code, version=version)
        report.created.append(f"bundle {code} v{version}")
    else:
        report.updated.append(f"bundle {code} v{version}")
    bundle.name = data["name"]
    bundle.audience = data["audience"]
    bundle.description = data.get("description", "").strip()
    bundle.save()
    bundle.items.all().delete()
    placed = {}
    for position, item in enumerate(data["items"]):
        placed[item["code"]] = BundleItem.objects.create(
            bundle=bundle,
            item=ServiceItem.objects.get(code=item["code"]),
            optional=bool(item.get("optional", False)),
            position=position,
        )
    for item in data["items"]:
        placed[item["code"]].depends_on.set([placed[d] for d in item.get("depends_on", [])])
    if data.get("state", "published") == "published" and bundle.state != Bundle.State.PUBLISHED:
        for other in Bundle.objects.published().filter(code=code).exclude(pk=bundle.pk):
            other.unpublish()
            other.save()
        bundle.publish()
        bundle.save()


def _set_m2m(manager, objects, report: LoadReport, label: str) -> None:
    wanted = set(objects.values_list("pk", flat=True))
    if set(manager.values_list("pk", flat=True)) != wanted:
        manager.set(wanted)
        report.updated.append(label)


def _bundle_shape(data: dict) -> dict:
    return {
        "name": data["name"],
        "audience": data["audience"],
        "description": data.get("description", "").strip(),
        "state": data.get("state", "published"),
        "items": [
            (i["code"], bool(i.get("optional", False)), tuple(sorted(i.get("depends_on", []))))
            for i in data["items"]
        ],
    }


def shape_of(bundle: Bundle) -> dict:
    bundle_items = bundle.bundle_items()
    return {
        "name": bundle.name,
        "audience": bundle.audience,
        "description": bundle.description,
        "state": bundle.state,
        "items": [
            (bi.item.code, bi.optional, tuple(sorted(d.item.code for d in bi.depends_on.all())))
            for bi in bundle_items
        ],
    }
