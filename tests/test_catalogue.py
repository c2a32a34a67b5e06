import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from applications.models import Application
from bundles.loader import DEFAULT_DIRECTORY, snapshot
from bundles.models import Bundle, FormField, MaterialType, ServiceItem
from bundles.services import new_draft_version
from departments.models import Department

from .helpers import catalogue_codes

pytestmark = pytest.mark.django_db


def test_load_catalogue_loads_every_bundle_and_a_second_run_changes_nothing(simulated_departments):
    first, second = StringIO(), StringIO()
    call_command("load_catalogue", stdout=first)
    files = catalogue_codes()
    assert len(files) == len(list((DEFAULT_DIRECTORY / "bundles").glob("*.yaml")))
    assert sorted(Bundle.objects.published().values_list("code", flat=True)) == files
    call_command("load_catalogue", stdout=second)
    assert second.getvalue().strip() == "catalogue unchanged"
    assert Bundle.objects.get(code="newborn").items.count() == 6


def test_every_bundle_has_a_source_departments_items_and_runs(simulated_departments):
    call_command("load_catalogue", stdout=StringIO())
    for bundle in Bundle.objects.all():
        assert bundle.source, bundle.code
        assert bundle.problems() == [], bundle.code
        assert 2 <= bundle.items.count() <= 8, bundle.code


def test_dump_then_load_into_a_fresh_database_gives_identical_data(simulated_departments, tmp_path):
    call_command("load_catalogue", stdout=StringIO())
    before = snapshot()
    call_command("dump_catalogue", str(tmp_path), stdout=StringIO())
    for model in (Bundle, ServiceItem, FormField, MaterialType, Department):
        model.objects.all().delete()
    assert snapshot()["bundles"] == []
    call_command("load_catalogue", str(tmp_path), stdout=StringIO())
    assert snapshot() == before
    out = StringIO()
    call_command("load_catalogue", str(tmp_path), stdout=out)
    assert out.getvalue().strip() == "catalogue unchanged"


def test_a_published_version_and_its_newer_draft_both_survive_dump_and_load(
    simulated_departments, tmp_path
):
    call_command("load_catalogue", stdout=StringIO())
    published = Bundle.objects.get(code="newborn", state=Bundle.State.PUBLISHED)
    draft = new_draft_version(published)
    draft.name = "新生儿出生一件事（修订稿）"
    draft.save()
    before = snapshot()
    call_command("dump_catalogue", str(tmp_path), stdout=StringIO())
    for model in (Bundle, ServiceItem, FormField, MaterialType, Department):
        model.objects.all().delete()
    call_command("load_catalogue", str(tmp_path), stdout=StringIO())
    assert snapshot() == before
    kept = Bundle.objects.filter(code="newborn").order_by("version")
    assert [(b.version, b.state, b.name) for b in kept] == [
        (published.version, "published", published.name),
        (draft.version, "draft", "新生儿出生一件事（修订稿）"),
    ]


def broken_copy(tmp_path, bundle, old, new):
    folder = tmp_path / "cat"
    shutil.copytree(DEFAULT_DIRECTORY, folder)
    path = folder / "bundles" / f"{bundle}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "    name: 户口登记\n    department: police\n    time_limit_days: 2\n"
            "    depends_on: [birth_certificate]",
            "    name: 户口登记\n    department: police\n    time_limit_days: 2\n"
            "    depends_on: [medical_insurance]",
            "cycle",
        ),
        ("department: police", "department: nowhere", "unknown department 'nowhere'"),
        ("audience: individual", "audience: aliens", "audience must be one of"),
        ("code: vaccination_certificate", "code: Vaccination", "code must be lower-case"),
    ],
)
def test_a_bad_file_is_refused_naming_file_bundle_and_problem(tmp_path, old, new, problem):
    folder = broken_copy(tmp_path, "newborn", old, new)
    with pytest.raises(CommandError) as raised:
        call_command("load_catalogue", str(folder))
    message = str(raised.value)
    assert "newborn.yaml" in message and "bundle newborn" in message and problem in message
    assert not Bundle.objects.exists() and not Department.objects.exists()


def test_a_shared_item_defined_two_ways_is_refused(tmp_path):
    folder = broken_copy(tmp_path, "newborn", "name: 出生医学证明", "name: 出生证")
    (folder / "bundles" / "other.yaml").write_text(
        "code: other\nname: 另一件事\naudience: individual\nitems:\n"
        "  - {code: birth_certificate, name: 出生医学证明, department: health,"
        " time_limit_days: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match="birth_certificate is defined differently"):
        call_command("load_catalogue", str(folder))


def test_a_version_with_applications_is_never_rewritten(tmp_path, simulated_departments, citizen):
    call_command("load_catalogue", stdout=StringIO())
    Application.objects.create(bundle=Bundle.objects.get(code="newborn"), applicant=citizen)
    folder = broken_copy(tmp_path, "newborn", "name: 新生儿出生一件事", "name: 新生儿一件事")
    with pytest.raises(CommandError, match="already has applications; give the changed"):
        call_command("load_catalogue", str(folder))


def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


def test_seed_demo_creates_the_demo_accounts(settings, simulated_departments):
    from accounts.models import User

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())
    names = set(User.objects.values_list("username", flat=True))
    assert {"admin", "citizen", "staff_police", "staff_health"} <= names
    assert len(names) == 2 + Department.objects.count()
    assert User.objects.get(username="staff_police").departments.get().code == "police"
    assert "Demo-2026" in out.getvalue()
