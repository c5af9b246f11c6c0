"""The User Service as an OpenID Connect provider (django-oauth-toolkit): staff sign in here once
and every admin (grants, finance, or an agency's own) is a relying party.

Authorization code flow with PKCE only. ID tokens are signed with the same rotating keys as the
API's access tokens (hms.keys: the key id in the header, the previous key published until its
tokens expire) and verified against the one JWKS, `/.well-known/jwks.json`. The person signs in
at `/sign-in/` (apps/users/sign_in.py): password, then the authenticator code, which every staff
account must have. What a relying party learns, by scope:

- `openid`: `sub` (the platform user id) and `amr` (["pwd", "otp"] once the code was asked);
- `email`, `profile`: the email and legal name;
- `roles`: `role`, the platform role (applicant, caseworker, finance_officer, administrator).
"""

import json

from django.contrib.auth import user_logged_out
from django.dispatch import receiver
from jwcrypto import jwk, jws, jwt
from oauth2_provider import views as oauth_views
from oauth2_provider.models import Application
from oauth2_provider.oauth2_validators import OAuth2Validator

from apps.users import mfa
from apps.users.models import STAFF_ROLES, Profile
from hms.db import service_atomic
from hms.errors import ValidationFailed
from hms.jwks import key_directory, published_jwks

SIGNING_ALGORITHM = "RS256"


def authentication_methods(user) -> list[str]:
    """How a session of this account was signed in: every sign-in asks for the code where the
    account has one (apps/users/sign_in.py)."""
    return ["pwd", "otp"] if mfa.mfa_enabled(user) else ["pwd"]


class Validator(OAuth2Validator):
    oidc_claim_scope = {
        "sub": "openid",
        "amr": "openid",
        "email": "email",
        "email_verified": "email",
        "name": "profile",
        "role": "roles",
    }

    def get_additional_claims(self, request):
        profile = Profile.objects.get(pk=request.user.pk)
        return {
            "amr": authentication_methods(request.user),
            "email": profile.email,
            "email_verified": True,
            "name": profile.legal_name,
            "role": profile.role,
        }

    def finalize_id_token(self, id_token, token, token_handler, request):
        """As django-oauth-toolkit does, but signed with the platform's current key (hms.keys)
        rather than one fixed in settings, so a rotation needs no restart."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = key_directory().signing_key()
        signed = jwt.JWT(
            header=json.dumps({"typ": "JWT", "alg": SIGNING_ALGORITHM, "kid": key.kid}),
            claims=json.dumps(id_token, default=str),
        )
        signed.make_signed_token(jwk.JWK.from_pyca(key.private_key))
        saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = request.id_token = saved
        return signed.serialize()

    def _get_key_for_token(self, token):
        """The published key an ID token names (an `id_token_hint` at sign-out)."""
        unverified = jws.JWS()
        unverified.deserialize(token)
        kid = unverified.jose_header.get("kid")
        for published in published_jwks():
            if published["kid"] == kid:
                return jwk.JWK(**published)
        return None


class DiscoveryView(oauth_views.ConnectDiscoveryInfoView):
    """The discovery document, naming the platform's JWKS and what it signs with."""

    def get(self, request, *args, **kwargs):
        answer = super().get(request, *args, **kwargs)
        document = json.loads(answer.content)
        document["id_token_signing_alg_values_supported"] = [SIGNING_ALGORITHM]
        document["code_challenge_methods_supported"] = ["S256"]
        answer.content = json.dumps(document)
        return answer


@receiver(user_logged_out)
def _staff_signed_out(sender, request, user, **kwargs):
    """Signing out of the User Service ends the staff member's every sign-in: the admins they
    moved to end their sessions too (the revocation event), as do their API tokens."""
    from apps.users.services import sign_out_everywhere
    from hms.auth import Identity

    profile = Profile.objects.filter(pk=getattr(user, "pk", None)).first()
    if profile is not None and profile.role in STAFF_ROLES:
        sign_out_everywhere(actor=Identity(user_id=profile.pk, role=profile.role))


def admin_client_register(
    *,
    client_id: str,
    name: str,
    secret: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
) -> Application:
    """Register (or update) a first-party admin as a confidential client: code flow with PKCE,
    no consent page (the agency's own admins), the secret kept only as a hash."""
    if len(secret) < 32:
        raise ValidationFailed(
            "A client secret needs at least 32 characters.",
            fields={"secret": ["At least 32 characters."]},
        )
    if not redirect_uris:
        raise ValidationFailed(
            "Give the admin's callback URL.", fields={"redirect_uris": ["At least one."]}
        )
    with service_atomic("users"):
        client = Application.objects.filter(client_id=client_id).first() or Application(
            client_id=client_id
        )
        client.name = name
        client.client_type = Application.CLIENT_CONFIDENTIAL
        client.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        client.algorithm = Application.RS256_ALGORITHM
        client.skip_authorization = True
        client.redirect_uris = " ".join(redirect_uris)
        client.post_logout_redirect_uris = " ".join(post_logout_redirect_uris)
        client.client_secret = secret
        client.save()
    return client
