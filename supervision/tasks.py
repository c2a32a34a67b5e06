from celery import shared_task

from . import services


@shared_task
def refresh_dashboards() -> int:
    """Recompute every period's figures for every scope in use, ahead of the supervisors."""
    count = 0
    for scope in services.scopes_in_use():
        for name in services.PERIOD_DAYS:
            services.refresh(name, scope)
            count += 1
    return count
