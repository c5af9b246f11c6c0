"""A service's read model of the people it shows (hms.people)."""

from django.db import models
from django.utils import timezone


class Person(models.Model):
    """An applicant or a member of staff, by their User Service id."""

    class Role(models.TextChoices):
        APPLICANT = "applicant", "Applicant"
        CASEWORKER = "caseworker", "Caseworker"
        FINANCE_OFFICER = "finance_officer", "Finance officer"
        ADMINISTRATOR = "administrator", "Administrator"

    user_id = models.PositiveBigIntegerField(primary_key=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    display_name = models.CharField(max_length=255)
    # An applicant's kind (individual or business); empty for staff.
    kind = models.CharField(max_length=20, blank=True)
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["display_name", "user_id"]
        verbose_name_plural = "people"
        indexes = [
            models.Index(fields=["display_name"], name="people_person_name"),
            models.Index(fields=["role", "display_name"], name="people_person_role_name"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} (#{self.user_id})"
