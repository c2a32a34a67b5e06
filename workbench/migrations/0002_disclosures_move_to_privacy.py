"""The record of full views moves to the privacy app, which keeps every kind of them (web, API,
case orders, downloads): the web views recorded so far come along."""

from django.db import migrations


def copy_to_privacy(apps, schema_editor):
    DisclosureLog = apps.get_model("workbench", "DisclosureLog")
    Disclosure = apps.get_model("privacy", "Disclosure")
    for old in DisclosureLog.objects.select_related("subtask").iterator():
        moved = Disclosure.objects.create(
            channel="web",
            user_id=old.user_id,
            application_id=old.subtask.application_id,
            subtask_id=old.subtask_id,
            field=old.field,
        )
        # ``at`` is set on creation; keep when the view really happened.
        Disclosure.objects.filter(pk=moved.pk).update(at=old.at)


class Migration(migrations.Migration):
    dependencies = [
        ("workbench", "0001_initial"),
        ("privacy", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_to_privacy, migrations.RunPython.noop),
        migrations.DeleteModel(name="DisclosureLog"),
    ]
