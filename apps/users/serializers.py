"""Serializers several of the Users Service's endpoints share."""

from rest_framework import serializers

from apps.users.models import Kind, Role, VerificationStatus
from apps.users.selectors import mask_ein
from hms.serialization import ReadSerializer


class ProfileOutputSerializer(ReadSerializer):
    """A profile as the API shows it (EIN, UEI and verification are a business's)."""

    id = serializers.IntegerField(source="pk")
    role = serializers.ChoiceField(choices=Role.choices)
    kind = serializers.ChoiceField(choices=Kind.choices, source="applicant_kind", allow_null=True)
    legal_name = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.EmailField()
    phone = serializers.CharField()
    address_line1 = serializers.CharField()
    address_line2 = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    zip_code = serializers.CharField()
    ein = serializers.CharField()
    uei = serializers.CharField()
    verification_status = serializers.ChoiceField(choices=VerificationStatus.choices)
    verification_reason = serializers.CharField()
    verification_changed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "UserProfile"

    def to_representation(self, profile) -> dict:
        data = super().to_representation(profile)
        if data["ein"] and not self.context.get("show_full_ein"):
            data["ein"] = mask_ein(data["ein"])
        return data
