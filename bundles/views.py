from django.shortcuts import render

from .models import Bundle


def home(request):
    """The plain home page: published bundles, by audience."""
    bundles = (
        Bundle.objects.published()
        .order_by("audience", "code")
        .prefetch_related("items__item__department")
    )
    groups = {}
    for bundle in bundles:
        groups.setdefault(bundle.get_audience_display(), []).append(bundle)
    return render(request, "home.html", {"groups": groups})
