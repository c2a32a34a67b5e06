from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from portal.paging import page_of

from .models import Message


@login_required
def inbox(request):
    """站内消息: the newest first; opening the page marks them read."""
    messages = page_of(
        request, Message.objects.filter(user=request.user).select_related("application")
    )
    # What is on this page has been seen; what is on the next pages has not.
    unread = [message.pk for message in messages if message.read_at is None]
    Message.objects.filter(pk__in=unread).update(read_at=timezone.now())
    return render(request, "notifications/inbox.html", {"inbox": messages})
