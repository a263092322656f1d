"""The owner's page of personal API tokens (/accounts/tokens/): list, create (shown once), revoke."""

from __future__ import annotations

from django.http import HttpResponse

from portal.access.permissions import login_required_view


@login_required_view
def tokens(request):  # replaced by the real page
    return HttpResponse("tokens")
