"""The admin in service mode: only for operators whose session passed the second factor.

Django's admin has a login form of its own that checks the password only; in service mode
(``SPIEGEL_SERVICE_MODE=1``) it is replaced by the portal's login (allauth, which asks the
TOTP code), and every admin page asks ``permissions.require_operator``'s question. Outside
service mode (development, the demo, the test suite's admin tests) the admin stays as it was.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from orchestration.core.service import service_mode
from portal.access.permissions import is_operator, passed_second_factor, require_operator


def guard_admin_site(site) -> None:
    if getattr(site, "_spiegel_operator_guard", False):
        return
    plain_has_permission = site.has_permission
    plain_login = site.login

    def has_permission(request) -> bool:
        if not plain_has_permission(request):
            return False
        return not service_mode() or (is_operator(request.user) and passed_second_factor(request))

    def login(request, extra_context=None):
        if not service_mode():
            return plain_login(request, extra_context)
        response = require_operator(request)  # the login page, 2FA set-up or the code; 404 for others
        if response is not None:
            return response
        target = request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = ""
        return HttpResponseRedirect(target or "/admin/")

    site.has_permission = has_permission
    site.login = login
    site._spiegel_operator_guard = True
