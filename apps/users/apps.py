from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Users"

    def ready(self):
        # Signing out of the User Service ends a staff member's every sign-in (apps/users/oidc.py).
        from apps.users import oidc  # noqa: F401
