"""Pages under /verzekeraar/ for insurer users (portal.md)."""

from django.http import HttpResponse

from portal.access.permissions import login_required_view, require_insurer


@login_required_view
def overview(request):  # replaced by the real page
    require_insurer(request)
    return HttpResponse("verzekeraar")
