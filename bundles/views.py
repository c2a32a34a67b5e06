from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from accounts.services import verified_enterprises

from .diagram import bundle_svg
from .models import Bundle
from .services import materials_of, promised_days


def home(request):
    """Published bundles by audience and life event, with a search by name and keyword."""
    query = request.GET.get("q", "").strip()[:50]
    bundles = (
        Bundle.objects.published()
        .select_related("lead_department")
        .order_by("audience", "life_event", "code")
    )
    if query:
        bundles = bundles.filter(
            Q(name__icontains=query)
            | Q(keywords__icontains=query)
            | Q(description__icontains=query)
            | Q(life_event__icontains=query)
        )
    groups: dict[str, dict[str, list]] = {}
    for bundle in bundles:
        groups.setdefault(bundle.get_audience_display(), {}).setdefault(
            bundle.life_event or _("其他"), []
        ).append(bundle)
    return render(request, "home.html", {"groups": groups, "query": query})


def bundle_detail(request, code):
    """What a bundle bundles, who takes part, what it needs, and what bundling saves."""
    bundle = get_object_or_404(
        Bundle.objects.published().select_related("lead_department"), code=code
    )
    bundle_items = bundle.bundle_items()
    departments = list(dict.fromkeys(bi.item.department for bi in bundle_items))
    item_days = sum(bi.item.time_limit_days for bi in bundle_items if not bi.optional)
    context = {
        "bundle": bundle,
        "bundle_items": bundle_items,
        "departments": departments,
        "materials": materials_of(bundle_items),
        "promised_days": promised_days(bundle, bundle_items),
        "item_by_item_days": item_days,
        "savings": [
            {"label": label, "before": bundle.savings[key][0], "after": bundle.savings[key][1]}
            for key, label in (
                ("visits", _("跑动次数")),
                ("materials", _("提交材料（份）")),
                ("days", _("办理时间（工作日）")),
            )
            if key in bundle.savings
        ],
        "rules": bundle.eligibility_rules.all(),
        # Only enterprises the applicant has a proven mandate for; founders file as themselves.
        "enterprises": list(verified_enterprises(request.user))
        if request.user.is_authenticated and not bundle.founding_item_code
        else [],
        "diagram": mark_safe(bundle_svg(bundle)),  # noqa: S308  (built with escape() throughout)
    }
    return render(request, "bundles/detail.html", context)
