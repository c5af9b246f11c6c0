from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "hms.staff"
    label = "staff"
    verbose_name = "Staff sign-in"
