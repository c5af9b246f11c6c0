"""Admin building blocks for records nobody edits by hand (outbox, ledger, history, audit)."""

from django.contrib import admin


class ReadOnlyPermissions:
    """No add, change or delete: the records are written by services only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyPermissions, admin.TabularInline):
    extra = 0
    can_delete = False
