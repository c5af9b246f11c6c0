"""Who has signed in to this service's admin through the User Service (read-only)."""

from django.contrib import admin

from hms.staff.models import StaffAccount


@admin.register(StaffAccount)
class StaffAccountAdmin(admin.ModelAdmin):
    list_display = ["platform_user_id", "email", "role", "is_active", "signed_in_at", "created_at"]
    list_filter = ["role", "user__is_active"]
    search_fields = ["email", "platform_user_id"]
    list_select_related = ["user"]
    date_hierarchy = "signed_in_at"

    @admin.display(boolean=True, description="active", ordering="user__is_active")
    def is_active(self, account: StaffAccount) -> bool:
        return account.user.is_active

    def has_add_permission(self, request) -> bool:
        return False  # accounts appear when staff sign in; roles change in the User Service

    def has_change_permission(self, request, obj=None) -> bool:
        return False
