"""Every bundle of the catalogue, applied for through the API with answers made from its JSON
Schema, completes against the department simulator and window clerks."""

import datetime
import io

import pytest

from applications.models import SubTask
from departments.models import Department

from .helpers import PDF, PNG, api_client, catalogue_codes, wait_for
from .schema_values import valid_form

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FILES = {"pdf": PDF, "png": PNG, "jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 64}


#: The enterprise the ``citizen`` fixture has a proven mandate for.
CITIZENS_ENTERPRISE = "91110000600037341L"


def apply_for(client, bundle: dict) -> int:
    today = datetime.date.today()
    optional = [item["code"] for item in bundle["items"] if item["optional"]]
    form = valid_form(bundle["form_schema"], today)
    created = client.post(
        "/api/v1/applications/",
        {"bundle": bundle["code"], "form": form, "items": optional}
        # Founding bundles make the founder an agent of a second enterprise as they end: the
        # others say which one they are filed for.
        | ({"enterprise": CITIZENS_ENTERPRISE} if bundle["audience"] == "enterprise" else {}),
        format="json",
    )
    assert created.status_code == 201, (bundle["code"], created.json())
    application_id = created.json()["id"]
    for material in bundle["materials"]:
        if not material["required"] or material["may_follow_later"]:
            continue
        kind = next(t for t in ("pdf", "png", "jpg") if t in material["accepted_types"])
        upload = io.BytesIO(FILES[kind])
        upload.name = f"{material['code']}.{kind}"
        response = client.post(
            f"/api/v1/applications/{application_id}/materials/",
            {"code": material["code"], "file": upload},
            format="multipart",
        )
        assert response.status_code == 201, (bundle["code"], response.json())
    submitted = client.post(f"/api/v1/applications/{application_id}/submit/")
    assert submitted.status_code == 200, (bundle["code"], submitted.json())
    return application_id


def test_every_bundle_completes(full_catalogue, citizen, make_staff, department_simulator, worker):
    client = api_client(citizen)
    bundles = client.get("/api/v1/bundles/", {"limit": 100}).json()["results"]
    # Every bundle the catalogue publishes, none missing, none extra.
    assert sorted(b["code"] for b in bundles) == catalogue_codes()
    applications = {apply_for(client, bundle): bundle["code"] for bundle in bundles}
    clerks = {
        d.code: api_client(make_staff(d.code)) for d in Department.objects.filter(handling="manual")
    }

    def work_the_windows():
        waiting = SubTask.objects.filter(
            application_id__in=applications, handling="manual", status="dispatched"
        ).select_related("department")
        for subtask in waiting:
            clerk = clerks[subtask.department.code]
            url = f"/api/v1/subtasks/{subtask.pk}"
            assert clerk.post(f"{url}/accept/").status_code == 200
            approved = clerk.post(
                f"{url}/approve/", {"outputs": {"number": f"W{subtask.pk}"}}, format="json"
            )
            assert approved.status_code == 200
        open_left = SubTask.objects.filter(application_id__in=applications).exclude(
            status__in=["approved", "rejected", "cancelled"]
        )
        return not open_left.exists()

    wait_for(work_the_windows, 150, 0.5, "every bundle to finish")
    from applications.models import Application

    outcomes = dict(
        Application.objects.filter(pk__in=applications).values_list("bundle__code", "status")
    )
    assert outcomes == dict.fromkeys(applications.values(), "completed")
