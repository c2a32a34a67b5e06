"""Model fields whose values are stored encrypted (see ``privacy.crypto``)."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Text stored encrypted; "" stays "" so that blank values need no key.

    It cannot be searched or ordered by: pair it with a keyed-hash column where a record must
    be found by its value.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return crypto.encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return crypto.decrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON value (dict, list, …) stored as encrypted text."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value):
        if value is None:
            return None
        text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
        return crypto.encrypt(text)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(crypto.decrypt(value))

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value)
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), cls=DjangoJSONEncoder, ensure_ascii=False)

    def formfield(self, **kwargs):
        from django.forms import JSONField

        return super(models.TextField, self).formfield(**{"form_class": JSONField, **kwargs})
