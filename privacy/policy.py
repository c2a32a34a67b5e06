"""What a department may see of an application, and how personal identifiers are shown.

One policy, used by the staff pages, the staff API, the case orders sent to department
systems, uploads, receipts and notices:

- a department sees only the answers its own item needs (the item's fields), and only the
  materials its item asks for, once its part has reached it;
- resident ID numbers, mobiles and bank accounts are shown masked — in repeating groups too
  (guardians, shareholders, drivers) — unless a member of staff asks to see one, and every
  full view (by web or API, a case order sent to a department system, a downloaded upload) is
  recorded in ``Disclosure``.
"""

from typing import Any

#: Field kinds that identify a person or an account: masked unless a full view is asked for.
IDENTIFIER_TYPES = frozenset({"id_number", "mobile", "bank_account"})


def mask(value: Any) -> str:
    """110101********002X, 138****8000, 6222***********0123: enough to compare, not to use."""
    value = str(value)
    if len(value) <= 7:
        return "*" * len(value)
    keep_head = 6 if len(value) == 18 else 3
    return value[:keep_head] + "*" * (len(value) - keep_head - 4) + value[-4:]


def is_masked(spec) -> bool:
    return spec.type in IDENTIFIER_TYPES or spec.sensitive


def masked_value(spec, value):
    """``value`` of the field ``spec`` as shown by default: identifiers masked, in every row
    of a repeating group too."""
    if value in (None, ""):
        return value
    if spec.type == "group" and isinstance(value, list):
        subs = {sub.key: sub for sub in spec.item_fields}
        return [
            {
                key: masked_value(subs[key], cell) if key in subs else cell
                for key, cell in row.items()
            }
            if isinstance(row, dict)
            else row
            for row in value
        ]
    return mask(value) if is_masked(spec) else value


def masked_form(specs, form: dict) -> dict:
    """The answers to ``specs`` only, masked."""
    return {spec.key: masked_value(spec, form[spec.key]) for spec in specs if spec.key in form}


def only_needed(specs, form: dict) -> dict:
    """The answers to ``specs`` only, in full (for a department system that processes them)."""
    return {spec.key: form[spec.key] for spec in specs if spec.key in form}


def identifier_paths(specs, form: dict) -> list[str]:
    """Where in ``form`` an identifier is, as paths ``key`` or ``group.row.sub``."""
    paths = []
    for spec in specs:
        value = form.get(spec.key)
        if value in (None, ""):
            continue
        if spec.type == "group" and isinstance(value, list):
            for number, row in enumerate(value):
                for sub in spec.item_fields:
                    if is_masked(sub) and isinstance(row, dict) and row.get(sub.key):
                        paths.append(f"{spec.key}.{number}.{sub.key}")
        elif is_masked(spec):
            paths.append(spec.key)
    return paths


def value_at(specs, form: dict, path: str) -> str | None:
    """The full identifier at ``path`` (as given by ``identifier_paths``), or None when
    ``path`` names no identifier of these fields."""
    return _value_at(specs, form, path) if path in identifier_paths(specs, form) else None


def _value_at(specs, form, path):
    for spec in specs:
        if path == spec.key:
            return str(form[spec.key])
        prefix = f"{spec.key}."
        if spec.type == "group" and path.startswith(prefix):
            number, _dot, sub = path[len(prefix) :].partition(".")
            return str(form[spec.key][int(number)][sub])
    return None
