"""The Users Service's API (under /users, no trailing slashes)."""

from django.urls import path

from apps.users import apis

urlpatterns = [
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
