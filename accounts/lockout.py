"""Lock an account for a while after repeated failed logins, whichever way they come in."""

import datetime

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from .models import User


def locked(user) -> bool:
    return bool(user.locked_until and user.locked_until > timezone.now())


class LockoutBackend(ModelBackend):
    """Django's own backend, refusing a locked account even with the right password."""

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not locked(user)


@receiver(user_login_failed)
def count_failure(sender, credentials, **kwargs):
    username = credentials.get("username")
    if not username:
        return
    User.objects.filter(username=username).update(failed_logins=F("failed_logins") + 1)
    lock_until = timezone.now() + datetime.timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
    User.objects.filter(username=username, failed_logins__gte=settings.LOGIN_MAX_FAILURES).update(
        locked_until=lock_until, failed_logins=0
    )


@receiver(user_logged_in)
def reset_failures(sender, user, **kwargs):
    if user.failed_logins or user.locked_until:
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
