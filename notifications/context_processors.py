def unread(request):
    """The number of unread messages, for the header; no query for anonymous visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .services import unread_count

    return {"unread_messages": unread_count(user)}
