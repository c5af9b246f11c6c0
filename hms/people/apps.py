from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "hms.people"
    label = "people"
    verbose_name = "People"
