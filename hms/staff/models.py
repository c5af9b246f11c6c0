"""The local record of a staff member who signed in with their User Service account."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from hms import auth


class StaffAccount(models.Model):
    """Links a local shadow `auth.User` to the platform identity it stands for.

    The shadow user has no usable password: signing in always goes to the User Service.
    """

    class Role(models.TextChoices):
        CASEWORKER = auth.ROLE_CASEWORKER, "Caseworker"
        FINANCE_OFFICER = auth.ROLE_FINANCE_OFFICER, "Finance officer"
        ADMINISTRATOR = auth.ROLE_ADMINISTRATOR, "Administrator"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_account"
    )
    platform_user_id = models.PositiveBigIntegerField("platform user id", unique=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    email = models.EmailField(max_length=254)
    signed_in_at = models.DateTimeField("last signed in", default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["platform_user_id"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()}, platform id {self.platform_user_id})"
