"""Encrypt every stored personal value again under the newest key of FIELD_ENCRYPTION_KEYS.

Rotating a key: put the new key first in FIELD_ENCRYPTION_KEYS (the old ones after it), restart,
run this command, then drop the old keys. Safe to run again; rows are rewritten in batches.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from privacy.crypto import rotate
from privacy.fields import EncryptedJSONField, EncryptedTextField

BATCH = 500


def encrypted_columns():
    """(model, [field names]) of every model with encrypted fields."""
    for model in apps.get_models():
        names = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, EncryptedTextField | EncryptedJSONField)
        ]
        if names:
            yield model, names


class Command(BaseCommand):
    help = "Encrypt stored personal data again under the newest key (after a key rotation)."

    def handle(self, **options):
        for model, names in encrypted_columns():
            rewritten = 0
            # The stored tokens as plain text (a Cast skips the fields' decryption).
            raw = {f"raw_{name}": Cast(name, TextField()) for name in names}
            rows = model._base_manager.annotate(**raw).order_by("pk").values_list("pk", *raw)
            last = None
            while True:
                batch = list((rows.filter(pk__gt=last) if last is not None else rows)[:BATCH])
                if not batch:
                    break
                with transaction.atomic():
                    for pk, *tokens in batch:
                        fresh = {
                            name: rotate(token)
                            for name, token in zip(names, tokens, strict=True)
                            if token
                        }
                        if fresh:
                            model._base_manager.filter(pk=pk).update(**_raw(fresh))
                            rewritten += 1
                last = batch[-1][0]
            self.stdout.write(f"{model._meta.label}: {rewritten} rows encrypted again")


def _raw(values: dict) -> dict:
    """Values that the fields store as they are (already tokens)."""
    return {name: Value(token, output_field=TextField()) for name, token in values.items()}
