"""Acting for an enterprise needs proof (Mandate), and resident ID numbers are stored encrypted
with a keyed hash to find them by.

Bindings made before this migration were never proven: they become pending mandates. Window
accounts were named after the holder's ID number; they get a name that tells nothing.
"""

import django.db.models.deletion
import django.utils.timezone
import django_fsm
from django.conf import settings
from django.db import migrations, models

import accounts.validators
import privacy.fields


def copy_bindings_to_mandates(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Mandate = apps.get_model("accounts", "Mandate")
    Binding = User.enterprises.through
    Mandate.objects.bulk_create(
        Mandate(agent_id=b.user_id, enterprise_id=b.enterprise_id, status="pending")
        for b in Binding.objects.all()
    )


def encrypt_id_numbers(apps, schema_editor):
    from privacy.crypto import encrypt, lookup_hash

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, id_number, username FROM accounts_user WHERE id_number <> ''")
        rows = cursor.fetchall()
        for pk, id_number, username in rows:
            digest = lookup_hash(id_number)
            if username == f"id{id_number}":
                username = f"w{digest[:16]}"
            cursor.execute(
                "UPDATE accounts_user SET id_number = %s, id_number_hash = %s, username = %s "
                "WHERE id = %s",
                [encrypt(id_number), digest, username, pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_hall_user_role"),
    ]

    operations = [
        migrations.CreateModel(
            name="Mandate",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", django_fsm.FSMField(choices=[("pending", "待确认"), ("verified", "已确认"), ("refused", "未通过"), ("revoked", "已撤销")], db_index=True, default="pending", max_length=50, protected=True, verbose_name="状态")),
                ("proof", models.CharField(blank=True, choices=[("", "申请人自述"), ("legal_rep", "法定代表人在线确认"), ("legal_rep_self", "本人为登记的法定代表人"), ("window", "窗口核验营业执照和授权委托书"), ("founding", "本平台办理设立登记")], default="", max_length=16, verbose_name="确认方式")),
                ("note", models.CharField(blank=True, max_length=200, verbose_name="说明")),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="申请时间")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="确认时间")),
                ("agent", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="mandates", to=settings.AUTH_USER_MODEL, verbose_name="经办人")),
                ("decided_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="确认人")),
                ("enterprise", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="mandates", to="accounts.enterprise", verbose_name="企业")),
            ],
            options={
                "verbose_name": "企业经办授权",
                "verbose_name_plural": "企业经办授权",
                "ordering": ["-requested_at", "-id"],
                "constraints": [models.UniqueConstraint(fields=("agent", "enterprise"), name="one_mandate_per_agent")],
            },
        ),
        migrations.RunPython(copy_bindings_to_mandates, migrations.RunPython.noop),
        migrations.RemoveField(model_name="user", name="enterprises"),
        migrations.AddField(
            model_name="user",
            name="enterprises",
            field=models.ManyToManyField(blank=True, related_name="members", through="accounts.Mandate", through_fields=("agent", "enterprise"), to="accounts.enterprise", verbose_name="所代表的企业"),
        ),
        migrations.AddField(
            model_name="enterprise",
            name="legal_rep_name",
            field=models.CharField(blank=True, max_length=64, verbose_name="法定代表人姓名"),
        ),
        migrations.AddField(
            model_name="enterprise",
            name="legal_rep_id_number",
            field=privacy.fields.EncryptedTextField(blank=True, validators=[accounts.validators.validate_resident_id], verbose_name="法定代表人身份证号码"),
        ),
        migrations.AddField(
            model_name="enterprise",
            name="legal_rep_id_hash",
            field=models.CharField(blank=True, db_index=True, editable=False, max_length=64),
        ),
        migrations.RemoveConstraint(model_name="user", name="unique_resident_id_number"),
        migrations.AddField(
            model_name="user",
            name="id_number_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="user",
            name="id_number",
            field=privacy.fields.EncryptedTextField(blank=True, validators=[accounts.validators.validate_resident_id], verbose_name="居民身份证号码"),
        ),
        migrations.RunPython(encrypt_id_numbers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(condition=models.Q(("id_number_hash", ""), _negated=True), fields=("id_number_hash",), name="unique_resident_id_number"),
        ),
    ]
