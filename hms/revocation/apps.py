from django.apps import AppConfig


class RevocationConfig(AppConfig):
    name = "hms.revocation"
    label = "revocation"
    verbose_name = "Token revocation"
