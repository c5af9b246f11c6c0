"""Django's admin app, with the staff workspace (hms/admin_site.py) as every service's admin site.

A module of its own: INSTALLED_APPS imports it before any model is ready.
"""

from django.contrib.admin.apps import AdminConfig


class WorkspaceAdminConfig(AdminConfig):
    default_site = "hms.admin_site.WorkspaceSite"
