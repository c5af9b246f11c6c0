"""The Users Service's HTTP API: each view parses, calls one service or selector, and answers."""

import base64
import binascii
from urllib.parse import unquote

from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status, throttling
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.users import mfa, notifications, selectors, services, validators
from apps.users.filters import ProfileFilter
from apps.users.models import Kind, VerificationStatus
from apps.users.serializers import ProfileOutputSerializer
from hms.auth import IsApplicant, IsCaseworker, IsStaff, TokenAuthentication
from hms.filtering import filter_parameters
from hms.identity import Identity
from hms.jwks import published_jwks
from hms.pagination import PAGE_PARAMETERS, paginated_response, paginated_schema
from hms.parsers import LimitedJSONParser
from hms.schema import problems, with_example
from hms.serialization import shared_serializer


def profile_context(request) -> dict:
    """How the caller may see profiles: the EIN masked unless they verify businesses."""
    return {"show_full_ein": selectors.may_see_full_ein(request.user)}


def profile_data(profile, request):
    return shared_serializer(ProfileOutputSerializer, **profile_context(request)).to_representation(
        profile
    )


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's scoped throttle, reading the rate when a request comes (so settings may change)."""

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(
                f"No throttle rate is set for scope {self.scope!r}."
            ) from exc


class AccountTokenAuthentication(TokenAuthentication):
    """The platform's token check, and here, where accounts live, that the token's subject is an
    account: a correctly signed token naming no account is refused, not served as nobody."""

    def names_an_account(self, identity: Identity, validated_token) -> bool:
        return selectors.account_exists(identity.user_id)


class AccountApi(APIView):
    """A Users Service endpoint for a signed-in caller."""

    authentication_classes = [AccountTokenAuthentication]

    def own_profile(self, request):
        """The caller's own profile."""
        return selectors.profile_visible_to(actor=request.user, profile_id=request.user.user_id)


class RefuseUnknownFieldsMixin:
    """A field the endpoint does not take is an error, not silently dropped (e.g. "role")."""

    unknown_field_message = "This field cannot be changed."

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {field: [self.unknown_field_message] for field in unknown}
            )
        return attrs


class _RegistrationSerializer(serializers.Serializer):
    """What every applicant gives; the input forms documented are those the service accepts
    (and stores normalized: EIN with its dash, UEI in capitals, ZIP as typed)."""

    legal_name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=services.EMAIL_MAX_LENGTH)
    password = serializers.CharField(
        max_length=128, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    phone = with_example(
        serializers.CharField(max_length=32, help_text=validators.PHONE_HELP), "+1 202 555 0143"
    )
    address_line1 = serializers.CharField(max_length=200)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    state = with_example(
        serializers.CharField(
            max_length=2, min_length=2, help_text="A USPS state or territory code."
        ),
        "IL",
    )
    zip_code = with_example(
        serializers.RegexField(
            validators.ZIP_CODE_INPUT,
            max_length=10,
            error_messages={"invalid": validators.ZIP_CODE_HELP},
        ),
        "62701",
    )


class IndividualRegistrationSerializer(RefuseUnknownFieldsMixin, _RegistrationSerializer):
    """An individual's registration."""

    unknown_field_message = "A registration does not take this field."

    kind = serializers.ChoiceField(choices=[Kind.INDIVIDUAL.value])

    class Meta:
        ref_name = "IndividualRegistration"


class BusinessRegistrationSerializer(RefuseUnknownFieldsMixin, _RegistrationSerializer):
    """A business's registration: its EIN and UEI are required (verified by a caseworker)."""

    unknown_field_message = "A registration does not take this field."

    kind = serializers.ChoiceField(choices=[Kind.BUSINESS.value])
    ein = with_example(
        serializers.RegexField(
            validators.EIN.pattern,
            error_messages={"invalid": validators.EIN_HELP},
            help_text="The IRS Employer Identification Number.",
        ),
        "12-3456789",
    )
    uei = with_example(
        serializers.RegexField(
            validators.UEI_INPUT,
            error_messages={"invalid": validators.UEI_HELP},
            help_text="The SAM.gov Unique Entity ID.",
        ),
        "JX3MKLQ7N2B5",
    )

    class Meta:
        ref_name = "BusinessRegistration"


REGISTRATION_BY_KIND = {
    Kind.INDIVIDUAL.value: IndividualRegistrationSerializer,
    Kind.BUSINESS.value: BusinessRegistrationSerializer,
}


class RegisterApi(APIView):
    """An individual or a business creates an applicant account."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "registration"

    class KindSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=Kind.choices)

    @extend_schema(
        operation_id="users_register",
        request=PolymorphicProxySerializer(
            component_name="UserRegistration",
            serializers=REGISTRATION_BY_KIND,
            resource_type_field_name="kind",
        ),
        responses={201: ProfileOutputSerializer, **problems(429)},
        auth=[],
    )
    def post(self, request):
        kind = self.KindSerializer(data=request.data)
        kind.is_valid(raise_exception=True)
        serializer = REGISTRATION_BY_KIND[kind.validated_data["kind"]](data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.applicant_register(**serializer.validated_data)
        return Response(profile_data(profile, request), status=status.HTTP_201_CREATED)


class ServiceTokenApi(APIView):
    """OAuth2 client credentials (RFC 6749 section 4.4): a service's client id and secret, in
    HTTP Basic or the form, for a short-lived service token. Errors are OAuth2's
    (`{"error": ..., "error_description": ...}`), as OAuth2 clients expect. Internal: the gateway
    does not route it, and it is not in the public API's schema (docs/security.md)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, LimitedJSONParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(exclude=True)
    def post(self, request):
        try:
            client_id, client_secret = self._credentials(request)
            if request.data.get("grant_type") != "client_credentials":
                raise services.ClientCredentialsRefused(
                    "unsupported_grant_type", "Only grant_type=client_credentials is supported."
                )
            token = services.service_token_issue(
                client_id=client_id, client_secret=client_secret, scope=request.data.get("scope")
            )
        except services.ClientCredentialsRefused as refused:
            answer = Response(
                {"error": refused.error, "error_description": refused.description},
                status=refused.status,
            )
            if refused.status == 401:
                answer["WWW-Authenticate"] = 'Basic realm="hms"'
        else:
            answer = Response(
                {
                    "access_token": token.access_token,
                    "token_type": token.token_type,
                    "expires_in": token.expires_in,
                    "scope": token.scope,
                }
            )
        answer["Cache-Control"] = "no-store"
        return answer

    @staticmethod
    def _credentials(request) -> tuple[str, str]:
        """From HTTP Basic (form-encoded id and secret, RFC 6749 section 2.3.1), else the body."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
                client_id, client_secret = decoded.split(":", 1)
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise services.ClientCredentialsRefused(
                    "invalid_client", "Malformed Basic credentials.", 401
                ) from None
            return unquote(client_id), unquote(client_secret)
        client_id, client_secret = request.data.get("client_id"), request.data.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            raise services.ClientCredentialsRefused(
                "invalid_client", "Client authentication is required.", 401
            )
        return client_id, client_secret


class JwksApi(APIView):
    """The public keys tokens are signed with (RFC 7517 JWK Set), by key id: what the gateway and
    every service verify tokens against (hms.jwks). Internal like the service token endpoint:
    not in the public API's schema, not routed by the gateway."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request):
        answer = Response({"keys": published_jwks()})
        # Verifiers keep their own copy (JWKS_MAX_AGE); a shared cache should not keep it longer.
        answer["Cache-Control"] = "public, max-age=60"
        return answer


class TokenObtainApi(APIView):
    """Sign in: an email and password for an access token and a refresh token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(
            max_length=128, write_only=True, trim_whitespace=False, style={"input_type": "password"}
        )
        otp = serializers.CharField(
            max_length=32,
            required=False,
            allow_blank=True,
            write_only=True,
            help_text="Where two-step sign-in is on: the code the authenticator app shows now, "
            "or one of the recovery codes.",
        )

        class Meta:
            ref_name = "TokenObtain"

    class OutputSerializer(serializers.Serializer):
        access = serializers.CharField()
        refresh = serializers.CharField()

        class Meta:
            ref_name = "TokenPair"

    @extend_schema(
        operation_id="users_token_obtain",
        request=InputSerializer,
        responses={200: OutputSerializer, **problems(401, 403, 429)},
        auth=[],
        description="After SIGN_IN_LOCKOUT_FAILURES failed sign-ins (5 by default) an email is "
        "locked for SIGN_IN_LOCKOUT_MINUTES (15): 429 `account_locked`, with "
        "`retry_after_seconds`. Where two-step sign-in is on, a right password without `otp` is "
        "401 `otp_required`, and a wrong code 401 `otp_invalid` (a failed sign-in). Staff "
        "always have it: a staff account that has not set up its authenticator app yet (at the "
        "User Service's /sign-in/) is 403 `mfa_setup_required`.",
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The client's address as the throttle sees it (behind the gateway, NUM_PROXIES).
        address = throttling.BaseThrottle().get_ident(request)
        pair = services.token_pair_obtain(**serializer.validated_data, address=address)
        return Response(self.OutputSerializer(pair).data)


class TokenRefreshApi(APIView):
    """A new access token for a refresh token (with the account's current role)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        refresh = serializers.CharField()

        class Meta:
            ref_name = "TokenRefresh"

    class OutputSerializer(serializers.Serializer):
        access = serializers.CharField()

        class Meta:
            ref_name = "TokenRefreshed"

    @extend_schema(
        operation_id="users_token_refresh",
        request=InputSerializer,
        responses={200: OutputSerializer, **problems(401)},
        auth=[],
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access = services.token_access_refresh(**serializer.validated_data)
        return Response(self.OutputSerializer({"access": access}).data)


class MeApi(AccountApi):
    """The caller's own profile."""

    class InputSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
        legal_name = serializers.CharField(max_length=200, required=False)
        email = serializers.EmailField(max_length=services.EMAIL_MAX_LENGTH, required=False)
        phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
        address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
        address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
        city = serializers.CharField(max_length=100, required=False, allow_blank=True)
        state = serializers.CharField(max_length=20, required=False, allow_blank=True)
        zip_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
        ein = serializers.CharField(max_length=20, required=False, allow_blank=True)
        uei = serializers.CharField(max_length=20, required=False, allow_blank=True)

        class Meta:
            ref_name = "UserProfileUpdate"

    @extend_schema(operation_id="users_me", responses={200: ProfileOutputSerializer})
    def get(self, request):
        profile = self.own_profile(request)
        return Response(profile_data(profile, request))

    @extend_schema(
        operation_id="users_me_update",
        request=InputSerializer,
        responses={200: ProfileOutputSerializer},
    )
    def patch(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profile = services.profile_update(
            actor=request.user, profile_id=request.user.user_id, changes=serializer.validated_data
        )
        return Response(profile_data(profile, request))


class SignOutEverywhereApi(AccountApi):
    """Sign out on every device: each of the caller's tokens, this one too, is refused."""

    @extend_schema(operation_id="users_me_sign_out_everywhere", request=None, responses={204: None})
    def post(self, request):
        services.sign_out_everywhere(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _OwnMfaApi(AccountApi):
    """The caller's own two-step sign-in (apps.users.mfa). Applicants choose it; staff must have
    it and set it up at the browser sign-in (apps/users/sign_in.py), so not here."""

    permission_classes = [IsApplicant]


class _OwnMfaCodeApi(_OwnMfaApi):
    """An endpoint taking a code: throttled per address like a sign-in."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


class MfaApi(_OwnMfaApi):
    """Two-step sign-in (an authenticator app's codes, with recovery codes): whether it is on,
    and starting to set it up."""

    class StatusSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()
        recovery_codes_left = serializers.IntegerField()

        class Meta:
            ref_name = "MfaStatus"

    class EnrolmentSerializer(serializers.Serializer):
        secret = serializers.CharField(help_text="Base32, to type into an app that cannot scan.")
        otpauth_uri = serializers.CharField(help_text="For the QR code the app scans.")

        class Meta:
            ref_name = "MfaEnrolment"

    @extend_schema(operation_id="users_me_mfa_status", responses={200: StatusSerializer})
    def get(self, request):
        return Response(
            self.StatusSerializer(mfa.mfa_status(profile=self.own_profile(request))).data
        )

    @extend_schema(
        operation_id="users_me_mfa_start",
        request=None,
        responses={201: EnrolmentSerializer, **problems(409)},
        description="A new secret for the authenticator app; nothing changes at sign-in until "
        "the app's first code confirms it (`POST /users/me/mfa/confirm`).",
    )
    def post(self, request):
        enrolment = mfa.mfa_enrol_start(profile=self.own_profile(request))
        answer = Response(self.EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)
        answer["Cache-Control"] = "no-store"
        return answer


class MfaConfirmApi(_OwnMfaCodeApi):
    """The app's first code puts two-step sign-in in force; the recovery codes are shown once."""

    class InputSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
        code = serializers.CharField(max_length=32)

        class Meta:
            ref_name = "MfaConfirm"

    class OutputSerializer(serializers.Serializer):
        recovery_codes = serializers.ListField(
            child=serializers.CharField(),
            help_text="Each signs in once in place of a code: keep them somewhere safe.",
        )

        class Meta:
            ref_name = "MfaRecoveryCodes"

    @extend_schema(
        operation_id="users_me_mfa_confirm",
        request=InputSerializer,
        responses={200: OutputSerializer, **problems(400, 409, 429)},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        codes = mfa.mfa_enrol_confirm(
            profile=self.own_profile(request), code=body.validated_data["code"]
        )
        answer = Response(self.OutputSerializer({"recovery_codes": codes}).data)
        answer["Cache-Control"] = "no-store"
        return answer


class MfaDisableApi(_OwnMfaCodeApi):
    """Two-step sign-in off: the password and a current code (or a recovery code)."""

    class InputSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
        password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
        code = serializers.CharField(max_length=32)

        class Meta:
            ref_name = "MfaDisable"

    @extend_schema(
        operation_id="users_me_mfa_disable",
        request=InputSerializer,
        responses={204: None, **problems(400, 409, 429)},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        mfa.mfa_disable(profile=self.own_profile(request), **body.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeApi(AccountApi):
    """Change one's password: every token issued until now is refused (sign in again)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"  # the current password must not be guessed here instead of there

    class InputSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
        current_password = serializers.CharField(
            max_length=128, write_only=True, trim_whitespace=False
        )
        new_password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)

        class Meta:
            ref_name = "PasswordChange"

    @extend_schema(
        operation_id="users_me_password_change",
        request=InputSerializer,
        responses={204: None, **problems(400, 429)},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.password_change(actor=request.user, **body.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationPreferencesApi(AccountApi):
    """Which optional emails the caller receives (receipts, requests for changes and decisions
    are always sent)."""

    class PreferencesSerializer(RefuseUnknownFieldsMixin, serializers.Serializer):
        muted = serializers.ListField(
            child=serializers.ChoiceField(choices=sorted(notifications.OPTIONAL_KINDS)),
            max_length=len(notifications.OPTIONAL_KINDS),
            help_text="The optional emails turned off.",
        )
        optional = serializers.ListField(
            child=serializers.CharField(), read_only=True, help_text="What may be turned off."
        )

        class Meta:
            ref_name = "NotificationPreferences"

    def _answer(self, muted: list[str]) -> Response:
        return Response({"muted": muted, "optional": sorted(notifications.OPTIONAL_KINDS)})

    @extend_schema(operation_id="users_me_notifications", responses={200: PreferencesSerializer})
    def get(self, request):
        profile = self.own_profile(request)
        return self._answer(notifications.muted_kinds(profile))

    @extend_schema(
        operation_id="users_me_notifications_update",
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer},
    )
    def put(self, request):
        body = self.PreferencesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        profile = self.own_profile(request)
        muted = notifications.notification_preferences_set(
            profile=profile, muted=body.validated_data["muted"]
        )
        return self._answer(muted)


class UserDetailApi(AccountApi):
    """One profile: to its owner, to staff, or to a service granted `people:read`."""

    service_scope = "people:read"

    @extend_schema(operation_id="users_retrieve", responses={200: ProfileOutputSerializer})
    def get(self, request, user_id: int):
        profile = selectors.profile_visible_to(actor=request.user, profile_id=user_id)
        return Response(profile_data(profile, request))


class VerificationApi(AccountApi):
    """A caseworker records a business's verification (EIN and UEI checked against SAM.gov)."""

    permission_classes = [IsCaseworker]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VerificationDecision"

        status = serializers.ChoiceField(
            choices=[VerificationStatus.VERIFIED.value, VerificationStatus.REJECTED.value]
        )
        reason = serializers.CharField(max_length=2000, help_text="Why: kept in the history.")

    @extend_schema(
        operation_id="users_verification_decide",
        summary="Verify or reject a business (caseworkers)",
        request=InputSerializer,
        responses={200: ProfileOutputSerializer, **problems(403, 404)},
    )
    def post(self, request, user_id: int):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        profile = services.business_verification_decide(
            actor=request.user,
            profile_id=user_id,
            status=body.validated_data["status"],
            reason=body.validated_data["reason"],
        )
        return Response(profile_data(profile, request))


class UserListApi(AccountApi):
    """The staff directory: every profile, searched and filtered, a page at a time."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="users_list",
        parameters=[*filter_parameters(ProfileFilter), *PAGE_PARAMETERS],
        responses={
            200: paginated_schema(ProfileOutputSerializer, name="UserProfilePage"),
        },
    )
    def get(self, request):
        profiles = selectors.profile_list(actor=request.user, filters=request.query_params)
        return paginated_response(
            request, self, profiles, ProfileOutputSerializer, context=profile_context(request)
        )
