import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bundles.loader import DEFAULT_DIRECTORY
from bundles.models import Bundle

pytestmark = pytest.mark.django_db


def test_load_catalogue_twice_changes_nothing_the_second_time():
    first, second = StringIO(), StringIO()
    call_command("load_catalogue", stdout=first)
    assert "created bundle newborn v1" in first.getvalue()
    call_command("load_catalogue", stdout=second)
    assert second.getvalue().strip() == "catalogue unchanged"
    assert Bundle.objects.published().get(code="newborn").items.count() == 6


def test_a_bad_file_is_refused_naming_file_bundle_and_problem(tmp_path):
    shutil.copytree(DEFAULT_DIRECTORY, tmp_path / "cat")
    path = tmp_path / "cat" / "bundles" / "newborn.yaml"
    # Household registration made to wait for medical insurance, which waits for it: a cycle.
    text = path.read_text(encoding="utf-8")
    marker = "    name: 户口登记\n    department: police\n    time_limit_days: 2\n"
    text = text.replace(
        marker + "    depends_on: [birth_certificate]",
        marker + "    depends_on: [medical_insurance]",
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        call_command("load_catalogue", str(tmp_path / "cat"))
    message = str(raised.value)
    assert "newborn.yaml" in message and "bundle newborn" in message and "cycle" in message
    assert not Bundle.objects.exists()


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


def test_seed_demo_creates_the_demo_accounts(settings):
    from accounts.models import User

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    names = set(User.objects.values_list("username", flat=True))
    assert {
        "admin",
        "citizen",
        "staff_police",
        "staff_health",
        "staff_cdc",
        "staff_hrss",
        "staff_healthcare_security",
    } <= names
    assert User.objects.get(username="staff_police").departments.get().code == "police"
    assert "Demo-2026" in out.getvalue()
