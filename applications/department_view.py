"""What a department sees of an application — decided here, for the staff pages, the staff
API, the case orders sent to department systems and the uploads (see ``privacy.policy``)."""

from django.db.models import Exists, OuterRef, Q

from bundles.services import item_specs
from privacy import policy
from privacy.models import Disclosure

from .models import SubTask, Upload
from .models import SubTaskStatus as S

#: A part has reached its department in these statuses: only then may its staff read the
#: materials, and they keep that right once the part has ended.
REACHED = [S.DISPATCHED, S.ACCEPTED, S.SUPPLEMENT_REQUESTED, S.APPROVED, S.REJECTED]


def staff_form(subtask: SubTask) -> dict:
    """The answers the part's item needs, identifiers masked (in groups too)."""
    return policy.masked_form(item_specs(subtask.item), subtask.application.form)


def staff_rows(subtask: SubTask) -> list[dict]:
    """The same answers as rows for a page: label, kind, the value as shown, and — for each
    identifier, in groups row by row — its path, by which a member of staff may ask to see
    it in full."""
    form = subtask.application.form
    rows = []
    for spec in item_specs(subtask.item):
        value = form.get(spec.key)
        row = {"key": spec.key, "label": spec.label, "type": spec.type}
        if spec.type == "group" and isinstance(value, list):
            subs = list(spec.item_fields)
            row["entries"] = [
                [
                    {
                        "label": sub.label,
                        "value": policy.masked_value(sub, entry.get(sub.key)),
                        "path": f"{spec.key}.{number}.{sub.key}"
                        if policy.is_masked(sub) and entry.get(sub.key)
                        else "",
                    }
                    for sub in subs
                    if entry.get(sub.key) not in (None, "")
                ]
                for number, entry in enumerate(value)
                if isinstance(entry, dict)
            ]
        else:
            row["value"] = policy.masked_value(spec, value)
            row["path"] = spec.key if policy.is_masked(spec) and value else ""
        rows.append(row)
    return rows


def applicant_summary(subtask: SubTask) -> dict:
    applicant = subtask.application.applicant
    return {
        "name": applicant.real_name,
        "id_number": policy.mask(applicant.id_number) if applicant.id_number else "",
        "mobile": policy.mask(applicant.mobile) if applicant.mobile else "",
    }


class NotAnIdentifier(LookupError):
    """The path names no identifier this part's department may see."""


def reveal(subtask: SubTask, user, path: str, channel: str) -> str:
    """One identifier in full, for a member of staff; the view is recorded."""
    value = policy.value_at(item_specs(subtask.item), subtask.application.form, path)
    if value is None:
        raise NotAnIdentifier(path)
    Disclosure.objects.create(
        channel=channel,
        user=user,
        application_id=subtask.application_id,
        subtask=subtask,
        field=path[:200],
    )
    return value


def case_order_form(subtask: SubTask) -> dict:
    """What the department system receives: the answers its item needs, in full — the view
    is recorded, identifier by identifier."""
    specs = item_specs(subtask.item)
    form = subtask.application.form
    paths = policy.identifier_paths(specs, form)
    if subtask.application.applicant.id_number:
        paths.append("applicant.id_number")
    Disclosure.objects.bulk_create(
        Disclosure(
            channel=Disclosure.Channel.CASE_ORDER,
            department_id=subtask.department_id,
            application_id=subtask.application_id,
            subtask_id=subtask.pk,
            field=path[:200],
        )
        for path in paths
    )
    return policy.only_needed(specs, form)


def uploads_visible_to(user):
    """The uploads ``user`` may download: their own applications' and, for staff, the
    materials their departments' items ask for, once the part has reached them."""
    own = Q(application__applicant=user)
    if user.is_superuser:
        return Upload.objects.all()
    department_ids = list(user.departments.values_list("pk", flat=True))
    if not department_ids:
        return Upload.objects.filter(own)
    reached = SubTask.objects.filter(
        application=OuterRef("application"),
        department__in=department_ids,
        status__in=REACHED,
        item__materials=OuterRef("material"),
    )
    return Upload.objects.filter(own | Q(Exists(reached)))


def record_download(upload: Upload, user) -> None:
    """A member of staff downloaded an applicant's material (their own is not recorded)."""
    if upload.application.applicant_id == user.pk:
        return
    Disclosure.objects.create(
        channel=Disclosure.Channel.UPLOAD,
        user=user,
        application_id=upload.application_id,
        field=upload.material.code,
    )
