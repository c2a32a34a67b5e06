"""API tokens (django-rest-knox): stored hashed, expiring, revoked at logout and whenever the
password changes."""


def revoke_all(user) -> int:
    """End every API token of ``user``; return how many there were."""
    from knox.models import get_token_model

    deleted, _by_model = get_token_model().objects.filter(user=user).delete()
    return deleted
