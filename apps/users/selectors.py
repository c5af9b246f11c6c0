"""Reads of the Users Service: who may see which profile, and the staff directory."""

import re
from collections.abc import Mapping

import django_filters
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from apps.users.models import Kind, Profile, Role, VerificationStatus
from hms.auth import ROLE_ADMINISTRATOR, ROLE_SERVICE, Identity
from hms.errors import NotFound, PermissionDenied, ValidationFailed

EIN_DIGITS = re.compile(r"^\d{9}$")


def profile_get(*, profile_id: int) -> Profile | None:
    return Profile.objects.select_related("user").filter(pk=profile_id).first()


def profile_visible_to(*, actor: Identity, profile_id: int) -> Profile:
    """The profile, if `actor` may read it: its owner, staff, or a service acting for the owner.

    Anyone else learns nothing, not even that the id exists (404).
    """
    may_read = actor.user_id == profile_id or actor.is_staff or actor.role == ROLE_SERVICE
    profile = profile_get(profile_id=profile_id) if may_read else None
    if profile is None:
        raise NotFound("No such user.")
    return profile


class ProfileFilter(django_filters.FilterSet):
    """The staff directory's search box and filters."""

    search = django_filters.CharFilter(method="filter_search", max_length=200)
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    verification_status = django_filters.ChoiceFilter(choices=VerificationStatus.choices)
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Profile
        fields = ["kind", "verification_status", "role"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Name, email, EIN (with or without its dash) or UEI contains the text."""
        text = value.strip()
        if not text:
            return queryset
        matches = (
            Q(legal_name__icontains=text)
            | Q(email__icontains=text)
            | Q(ein__icontains=text)
            | Q(uei__icontains=text)
        )
        if EIN_DIGITS.match(text):
            matches |= Q(ein=f"{text[:2]}-{text[2:]}")
        return queryset.filter(matches)


def profile_list(*, actor: Identity, filters: Mapping[str, str]) -> QuerySet[Profile]:
    """Profiles matching the staff directory's search and filters, in id order."""
    if not actor.is_staff:
        raise PermissionDenied("Only staff can list users.")
    filterset = ProfileFilter(data=filters, queryset=Profile.objects.all())
    if not filterset.is_valid():
        errors = {field: list(messages) for field, messages in filterset.errors.items()}
        raise ValidationFailed("The filters are not valid.", fields=errors)
    return filterset.qs.order_by("user_id")


def identity_for_user(user: AbstractBaseUser) -> Identity | None:
    """The platform identity of a signed-in account of this service (its admin uses it)."""
    profile = Profile.objects.filter(pk=user.pk).first()
    if profile is not None:
        return Identity(user_id=profile.pk, role=profile.role, kind=profile.kind or None)
    if user.is_superuser:  # an operations account made with createsuperuser
        return Identity(user_id=user.pk, role=ROLE_ADMINISTRATOR)
    return None
