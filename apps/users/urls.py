"""The Users Service's API (under /users, no trailing slashes)."""

from django.urls import include, path, re_path
from oauth2_provider import views as oauth_views

from apps.users import apis, oidc, sign_in

# The OpenID Connect provider (apps/users/oidc.py) in django-oauth-toolkit's namespace, which its
# views reverse in; no client management pages (clients come from `manage.py admin_client`).
oidc_urlpatterns = [
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    re_path(
        r"^\.well-known/openid-configuration/?$",
        oidc.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    # The platform's one key set, also at /.well-known/jwks.json.
    path(".well-known/jwks.json", apis.JwksApi.as_view(), name="jwks-info"),
    path("userinfo/", oauth_views.UserInfoView.as_view(), name="user-info"),
    path("logout/", oauth_views.RPInitiatedLogoutView.as_view(), name="rp-initiated-logout"),
]

urlpatterns = [
    path("o/", include((oidc_urlpatterns, "oauth2_provider"))),
    path("sign-in/", sign_in.PasswordView.as_view(), name="sign-in"),
    path("sign-in/code/", sign_in.CodeView.as_view(), name="sign-in-code"),
    path("sign-in/set-up/", sign_in.SetUpView.as_view(), name="sign-in-set-up"),
    path("users", apis.UserListApi.as_view(), name="users-list"),
    path("users/register", apis.RegisterApi.as_view(), name="users-register"),
    path("users/token", apis.TokenObtainApi.as_view(), name="users-token"),
    path(".well-known/jwks.json", apis.JwksApi.as_view(), name="users-jwks"),
    path("internal/oauth/token", apis.ServiceTokenApi.as_view(), name="users-service-token"),
    path("users/token/refresh", apis.TokenRefreshApi.as_view(), name="users-token-refresh"),
    path("users/me", apis.MeApi.as_view(), name="users-me"),
    path(
        "users/me/sign-out-everywhere",
        apis.SignOutEverywhereApi.as_view(),
        name="users-me-sign-out-everywhere",
    ),
    path("users/me/password", apis.PasswordChangeApi.as_view(), name="users-me-password"),
    path("users/me/mfa", apis.MfaApi.as_view(), name="users-me-mfa"),
    path("users/me/mfa/confirm", apis.MfaConfirmApi.as_view(), name="users-me-mfa-confirm"),
    path("users/me/mfa/disable", apis.MfaDisableApi.as_view(), name="users-me-mfa-disable"),
    path(
        "users/me/notifications",
        apis.NotificationPreferencesApi.as_view(),
        name="users-me-notifications",
    ),
    path("users/<int:user_id>", apis.UserDetailApi.as_view(), name="users-detail"),
    path(
        "users/<int:user_id>/verification",
        apis.VerificationApi.as_view(),
        name="users-verification",
    ),
]
