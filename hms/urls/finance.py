"""The root URLconf of the finance service."""

from django.urls import include, path

from hms.urls.platform import not_found_urlpatterns, platform_urlpatterns

urlpatterns = [
    # Before the admin's own paths: its sign-in-refused page lives under /admin/.
    path("", include("hms.staff.urls")),
    *platform_urlpatterns,
    path("", include("apps.finance.urls")),
    *not_found_urlpatterns,
]

handler400 = "hms.errors.json_bad_request"
handler403 = "hms.errors.json_forbidden"
handler404 = "hms.errors.json_not_found"
handler500 = "hms.errors.json_server_error"
