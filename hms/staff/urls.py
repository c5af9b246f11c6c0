"""The admin's single sign-on (hms/staff/sign_on.py), in the grants and finance URLconfs."""

from django.urls import path

from hms.staff import sign_on

urlpatterns = [
    path("oidc/authenticate/", sign_on.SignOnStart.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", sign_on.SignOnCallback.as_view(), name="oidc_authentication_callback"),
    path("oidc/logout/", sign_on.SignOut.as_view(), name="oidc_logout"),
    path("admin/sign-in-refused/", sign_on.sign_in_problem, name="staff-sign-in-refused"),
]
