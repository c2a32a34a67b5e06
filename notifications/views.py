from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from .models import Message


@login_required
def inbox(request):
    """站内消息: the newest first; opening the page marks them read."""
    messages = list(Message.objects.filter(user=request.user).select_related("application")[:100])
    Message.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "notifications/inbox.html", {"inbox": messages})
