"""Lists on the web pages come in pages: nothing is ever cut off without a way to the rest."""

from django.core.paginator import Page, Paginator

PAGE_SIZE = 25


def page_of(request, items, size: int | None = None) -> Page:
    """The page of ``items`` the request asks for (``?page=``); a number that is no page, or
    none, gives the nearest page rather than an error. ``page.other_parameters`` keeps the
    list's filters for the links to the other pages."""
    page = Paginator(items, size or PAGE_SIZE).get_page(request.GET.get("page"))
    parameters = request.GET.copy()
    parameters.pop("page", None)
    page.other_parameters = parameters.urlencode()
    return page
