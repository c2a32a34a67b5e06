"""Valid answers for any bundle, made from nothing but its published JSON Schema.

The schema's ``x-type`` says which kind of field each property is and ``x-eligibility``
which rules the answers must meet; identifiers get real check digits.
"""

import datetime

from stdnum.cn import ric, uscc


def resident_id(born: datetime.date, area: str = "110101", sequence: str = "002") -> str:
    body = f"{area}{born:%Y%m%d}{sequence}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(body: str = "91110000600037341") -> str:
    return body + uscc.calc_check_digit(body)


def years_ago(years: int, today: datetime.date) -> datetime.date:
    return today.replace(year=today.year - years, day=min(today.day, 28))


def value_for(schema: dict, key: str, today: datetime.date, ages: dict, fixed: dict):
    if key in fixed:
        return fixed[key]
    kind = schema.get("x-type")
    age = ages.get(key)
    if kind == "id_number":
        return resident_id(years_ago(age if age is not None else 35, today))
    if kind == "date":
        if age is not None:
            return years_ago(age, today).isoformat()
        return (today - datetime.timedelta(days=10)).isoformat()
    if kind == "credit_code":
        return credit_code()
    if kind == "mobile":
        return "13800138000"
    if kind == "bank_account":
        return "6222021234567890123"
    if kind == "choice":
        return schema["enum"][0]
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        return low if low is not None else (min(high, 1) if high is not None else 1)
    if kind == "address":
        return {"province": "北京市", "city": "北京市", "district": "东城区", "street": "东华门1号"}
    if kind == "group":
        rows = max(schema.get("minItems", 1), 1)
        item = schema["items"]
        return [
            {k: value_for(s, k, today, {}, {}) for k, s in item["properties"].items()}
            for _row in range(rows)
        ]
    return f"测试{schema.get('title', '')}"[: schema.get("maxLength", 200)]


def valid_form(form_schema: dict, today: datetime.date, keys=None) -> dict:
    """Answers for every property (or for ``keys``) that meet the bundle's eligibility rules."""
    ages: dict[str, int] = {}
    fixed: dict = {}
    bounds: dict[str, list[int | None]] = {}
    for rule in form_schema.get("x-eligibility", []):
        key, value = rule["field"], rule["value"]
        match rule["rule"]:
            case "min_age_years":
                bounds.setdefault(key, [None, None])[0] = value
            case "max_age_years":
                bounds.setdefault(key, [None, None])[1] = value
            case "max_age_days":
                fixed[key] = (today - datetime.timedelta(days=min(value, 10))).isoformat()
            case "equals":
                fixed[key] = value
            case "one_of":
                fixed[key] = value[0]
            case "id_region":
                fixed[key] = resident_id(years_ago(35, today), area=(value[0] + "0101")[:6])
    for key, (low, high) in bounds.items():
        low = low if low is not None else 0
        ages[key] = (low + high) // 2 if high is not None else low + 1
    properties = form_schema["properties"]
    return {
        key: value_for(schema, key, today, ages, fixed)
        for key, schema in properties.items()
        if keys is None or key in keys
    }
