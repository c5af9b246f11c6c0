from django.apps import AppConfig


class BusConfig(AppConfig):
    name = "hms.bus"
    label = "bus"
    verbose_name = "Event bus"
