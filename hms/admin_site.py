"""The staff workspace: every service's admin site, set up for the people who work in it all day.

Each service installs `hms.admin_apps.WorkspaceAdminConfig` in place of `django.contrib.admin`, so
its `admin.site` is a `WorkspaceSite`: the service's name in the header, an "Email" sign-in (staff
sign in with their HMS account's email), no "View site" link (no public site stands behind an
admin), and a start page for the signed-in person's role, built by the function named in
settings.HMS_START_PAGE (`start_page(request) -> StartPage`): the counts that matter to them, each
a link to the filtered list, and the tables they check first.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string

from hms.db import count_up_to

SERVICE_TITLES = {
    "users": "HMS User Service",
    "grants": "HMS Grants: caseworkers",
    "finance": "HMS Finance: finance officers",
}


@dataclass(frozen=True)
class Count:
    """One number on the start page, and the list it counts."""

    label: str
    count: int
    url: str
    # Counts are capped (a start page must not count a million rows): shown as "1,000+".
    capped: bool = False
    hint: str = ""

    @property
    def shown(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


@dataclass(frozen=True)
class Table:
    caption: str
    headings: list[str]
    rows: list[list[str]]
    link: tuple[str, str] | None = None  # (text, url) under the table


@dataclass
class StartPage:
    heading: str
    counts: list[Count] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


class StaffLoginForm(AdminAuthenticationForm):
    """The admin sign-in, labelled for what staff type: their HMS account's email."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "inputmode": "email"})


class WorkspaceSite(admin.AdminSite):
    site_url = None  # no "View site": nothing public stands behind a service's admin
    # The list columns need the width at 1366 px; the start page and breadcrumbs lead everywhere.
    enable_nav_sidebar = False
    index_title = "Start"
    index_template = "admin/start.html"
    login_form = StaffLoginForm

    def __init__(self, name="admin"):
        super().__init__(name)
        self.site_header = SERVICE_TITLES.get(settings.HMS_SERVICE, "HMS")
        self.site_title = self.site_header

    def login(self, request, extra_context=None):
        """Where HMS_ADMIN_SIGN_IN names a sign-in elsewhere (the User Service's own pages, or
        single sign-on through it), the admin takes no password itself and sends people there."""
        sign_in = getattr(settings, "HMS_ADMIN_SIGN_IN", "")
        if not sign_in:
            return super().login(request, extra_context)
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
            "admin:index", current_app=self.name
        )
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index", current_app=self.name)
        return HttpResponseRedirect(
            f"{reverse(sign_in)}?{urlencode({REDIRECT_FIELD_NAME: target})}"
        )

    def logout(self, request, extra_context=None):
        """Signing out of an admin signed in through the User Service signs out there too
        (HMS_ADMIN_SIGN_OUT_VIEW), which ends every admin's session of that person."""
        sign_out = getattr(settings, "HMS_ADMIN_SIGN_OUT_VIEW", "")
        if not sign_out or request.method != "POST":
            return super().logout(request, extra_context)
        return import_string(sign_out).as_view()(request)

    def index(self, request, extra_context=None):
        builder = getattr(settings, "HMS_START_PAGE", "")
        start = import_string(builder)(request) if builder else None
        return super().index(request, {"start_page": start, **(extra_context or {})})


class CappedPaginator(Paginator):
    """An admin list's pages, counting at most `cap` rows: a count of a million rows costs more
    than the page itself, and nobody pages that far (they filter). `capped` says the list holds
    more than `count`; the list then says "More than 10,000"."""

    cap = 10_000
    capped = False

    @cached_property
    def count(self) -> int:
        shown, self.capped = count_up_to(self.object_list, self.cap)
        return shown
