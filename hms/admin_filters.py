"""List filters shared by the services' admins."""

from django.contrib import admin


class CollapsedChoicesFilter(admin.ChoicesFieldListFilter):
    """A filter on a field with many choices (every state and territory): closed until one of
    its choices is in use, so it does not push the other filters off the screen."""

    template = "admin/collapsed_filter.html"
