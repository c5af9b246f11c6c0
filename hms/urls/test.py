"""The test suite's URLconf: the three data services' APIs side by side (their paths never clash:
each lives under its own prefix, /users, /grants, /finance)."""

from django.urls import include, path

from hms.urls.platform import not_found_urlpatterns, platform_urlpatterns

urlpatterns = [
    path("", include("hms.staff.urls")),
    *platform_urlpatterns,
    path("", include("apps.users.urls")),
    path("", include("apps.grants.urls")),
    path("", include("apps.finance.urls")),
    *not_found_urlpatterns,
]

handler404 = "hms.errors.json_not_found"
handler500 = "hms.errors.json_server_error"
