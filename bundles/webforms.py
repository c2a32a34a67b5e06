"""The one application form on the web, from the same field definitions as the API.

``parse`` turns posted HTML form data into the JSON form the API takes, and validation is
``fieldtypes.clean_form`` itself — so the web form and the API can never disagree. ``render``
gives the template what it needs to draw each field with its value and its errors.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from .fieldtypes import ADDRESS_PARTS, PROVINCES, FieldSpec

INPUT_TYPES = {
    "number": "number",
    "date": "date",
    "mobile": "tel",
    "id_number": "text",
    "credit_code": "text",
    "bank_account": "text",
    "text": "text",
}
INPUT_MODES = {"mobile": "tel", "bank_account": "numeric", "number": "decimal"}
AUTOCOMPLETE = {"mobile": "tel"}


def html_id(key: str) -> str:
    return "f-" + re.sub(r"[^a-z0-9]+", "-", key)


def parse(specs: list[FieldSpec], data) -> dict[str, Any]:
    """The JSON form from posted data; blank answers are left out."""
    form: dict[str, Any] = {}
    for spec in specs:
        value = _parse_one(spec, spec.key, data)
        if value not in (None, "", [], {}):
            form[spec.key] = value
    return form


def _parse_one(spec: FieldSpec, name: str, data):
    if spec.type == "address":
        parts = {part: data.get(f"{name}.{part}", "").strip() for part, _label in ADDRESS_PARTS}
        return parts if any(parts.values()) else None
    if spec.type == "group":
        rows = []
        for index in _row_indexes(name, data):
            row = {}
            for sub in spec.item_fields:
                value = _parse_one(sub, f"{name}.{index}.{sub.key}", data)
                if value not in (None, ""):
                    row[sub.key] = value
            if row:
                rows.append(row)
        return rows
    value = data.get(name)
    return value.strip() if isinstance(value, str) else value


def _row_indexes(name: str, data) -> list[int]:
    # ASCII digits, a few of them: a group has tens of rows at most, and int() of a
    # thousand-digit or Arabic-Indic index is not a row number.
    pattern = re.compile(rf"^{re.escape(name)}\.([0-9]{{1,4}})\.")
    return sorted({int(m.group(1)) for key in data for m in [pattern.match(key)] if m})


@dataclass
class RenderedField:
    """One field as the template draws it."""

    spec: FieldSpec
    name: str
    id: str
    value: Any
    errors: list[str]
    input_type: str = "text"
    inputmode: str = ""
    autocomplete: str = ""
    parts: list[dict] = field(default_factory=list)  # address
    rows: list[list["RenderedField"]] = field(default_factory=list)  # group
    row_errors: list[str] = field(default_factory=list)


def render(
    specs: list[FieldSpec], values: dict, errors: dict[str, list[str]], prefix="form."
) -> list[dict]:
    """Sections of rendered fields; ``errors`` are keyed like the API's (``form.<key>``)."""
    sections: dict[str, list[RenderedField]] = {}
    for spec in specs:
        rendered = _render_one(
            spec, spec.key, values.get(spec.key), errors.get(prefix + spec.key, [])
        )
        sections.setdefault(spec.section or _("其他信息"), []).append(rendered)
    return [{"title": title, "fields": fields} for title, fields in sections.items()]


def _render_one(spec: FieldSpec, name: str, value, errors) -> RenderedField:
    rendered = RenderedField(
        spec=spec,
        name=name,
        id=html_id(name),
        value="" if value is None else value,
        errors=list(errors),
        input_type=INPUT_TYPES.get(spec.type, "text"),
        inputmode=INPUT_MODES.get(spec.type, ""),
        autocomplete=AUTOCOMPLETE.get(spec.type, ""),
    )
    if spec.type == "address":
        current = value if isinstance(value, dict) else {}
        rendered.parts = [
            {
                "name": f"{name}.{part}",
                "id": html_id(f"{name}.{part}"),
                "label": label,
                "value": current.get(part, ""),
                "choices": PROVINCES if part == "province" else (),
            }
            for part, label in ADDRESS_PARTS
        ]
    elif spec.type == "group":
        current = value if isinstance(value, list) else []
        # One blank row more than filled in, so that a row can be added without JavaScript.
        count = max(len(current) + 1, spec.min_items)
        for index in range(min(count, spec.max_items)):
            row = current[index] if index < len(current) else {}
            rendered.rows.append(
                [
                    _render_one(sub, f"{name}.{index}.{sub.key}", row.get(sub.key), [])
                    for sub in spec.item_fields
                ]
            )
    return rendered


#: Where the error summary links for each kind of error key (the rest go to the page's top).
ANCHOR_PREFIXES = {"materials.": "m-", "delivery.": "d-", "person.": "p-"}


def error_summary(errors: dict[str, list[str]], field_href=None) -> list[dict]:
    """One link per message, to the input it is about: ``form.<key>`` to the field (or where
    ``field_href`` says), materials, delivery and applicant parts to theirs."""
    items = []
    for key, problems in errors.items():
        if key.startswith("form."):
            field = key.removeprefix("form.")
            href = (field_href or _here)(field)
        else:
            prefix = next((p for p in ANCHOR_PREFIXES if key.startswith(p)), None)
            href = f"#{ANCHOR_PREFIXES[prefix]}{key.removeprefix(prefix)}" if prefix else "#main"
        items += [{"href": href, "message": message} for message in problems]
    return items


def _here(field: str) -> str:
    return f"#{html_id(field)}"
