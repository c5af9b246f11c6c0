"""The User Service's signing keys (hms.keys): rotation, the JWKS, and verifiers reading it
(hms.jwks). Against real processes: tests/e2e/test_key_rotation.py."""

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from apps.users import services
from hms import jwks, tokens
from hms.errors import Conflict, NotFound
from hms.keys import EPOCH, KeyDirectory, write_private_key
from tests.identity import access_token_for
from tests.keys import own, stranger
from tests.problems import problem
from tests.users import factories

pytestmark = pytest.mark.django_db(databases="__all__")

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def clear_caches() -> None:
    jwks.key_directory.cache_clear()
    jwks.key_ring.cache_clear()
    tokens.token_backend.cache_clear()


@pytest.fixture
def key_dir(settings, tmp_path):
    """The User Service's keys in a folder of the test's own, starting with one key that signs."""
    settings.JWT_SIGNING_KEYS_DIR = str(tmp_path / "keys")
    settings.JWT_PRIVATE_KEY_FILE = str(tmp_path / "first.pem")
    write_private_key(tmp_path / "first.pem")
    clear_caches()
    yield tmp_path / "keys"
    clear_caches()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# -- the directory ----------------------------------------------------------------------------


def test_a_new_key_is_published_at_once_and_signs_from_its_moment(tmp_path):
    directory = KeyDirectory(tmp_path / "keys", tmp_path / "first.pem")
    write_private_key(tmp_path / "first.pem")
    first = directory.signing_key(T0)
    assert first.signs_from == EPOCH  # the single key file of earlier releases

    second = directory.add(T0 + dt.timedelta(minutes=5))

    assert directory.signing_key(T0) == first
    assert directory.signing_key(T0 + dt.timedelta(minutes=5)) == second
    assert [k.kid for k in directory.published(DAY, T0)] == [first.kid, second.kid]
    assert (second.path.stat().st_mode & 0o777) == 0o600


def test_a_retired_key_stays_published_for_a_token_lifetime_then_expires(tmp_path):
    directory = KeyDirectory(tmp_path)
    first = directory.add(T0)
    second = directory.add(T0 + dt.timedelta(hours=1))
    retired_until = second.signs_from + DAY

    assert first in directory.published(DAY, retired_until - dt.timedelta(seconds=1))
    assert first not in directory.published(DAY, retired_until)
    assert directory.expired(DAY, retired_until) == [first]
    assert directory.published(DAY, retired_until) == [second]


def test_files_that_are_not_key_files_are_ignored(tmp_path):
    directory = KeyDirectory(tmp_path)
    (tmp_path / "README.pem").write_text("not a key")
    key = directory.add(T0)

    assert directory.on_disk() == [key]


# -- rotation in the User Service ---------------------------------------------------------------


def test_after_a_rotation_new_tokens_name_the_new_key_and_old_ones_stay_valid(key_dir, settings):
    settings.JWT_KEY_PUBLISH_AHEAD_SECONDS = 0
    person = factories.individual()
    before = access_token_for(person.pk, "applicant", "individual")

    new_key = services.signing_key_rotate()
    time.sleep(1.1)  # the directory and the key ring are read again at most once a second
    after = access_token_for(person.pk, "applicant", "individual")

    assert jwt.get_unverified_header(after)["kid"] == new_key.kid
    assert jwt.get_unverified_header(before)["kid"] != new_key.kid
    for token in (before, after):
        assert bearer(token).get("/users/me").status_code == 200
        assert bearer(token).get("/grants/applications").status_code == 200


def test_a_key_published_ahead_does_not_sign_yet(key_dir, settings):
    settings.JWT_KEY_PUBLISH_AHEAD_SECONDS = 300
    signing = jwks.key_directory().signing_key()

    coming = services.signing_key_rotate()

    assert jwks.key_directory().signing_key() == signing
    published = {key["kid"] for key in APIClient().get("/.well-known/jwks.json").json()["keys"]}
    assert published == {signing.kid, coming.kid}


def test_a_withdrawn_key_s_tokens_are_refused(key_dir):
    person = factories.individual()
    old_token = access_token_for(person.pk, "applicant", "individual")
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    services.signing_key_rotate(now=True)
    for path in ("/users/me", "/grants/applications", "/finance/awards"):
        # Verified once and remembered (hms.auth): the withdrawal must still reach it.
        assert bearer(old_token).get(path).status_code == 200, path

    services.signing_key_withdraw(kid=old_kid)
    time.sleep(1.1)

    for path in ("/users/me", "/grants/applications", "/finance/awards"):
        response = bearer(old_token).get(path)
        assert response.status_code == 401, (path, response.content)
    fresh = access_token_for(person.pk, "applicant", "individual")
    assert bearer(fresh).get("/users/me").status_code == 200


def test_the_key_that_signs_now_cannot_be_withdrawn_and_an_unknown_one_is_named(key_dir):
    signing = jwks.key_directory().signing_key()

    with pytest.raises(Conflict, match="rotate_signing_key --now"):
        services.signing_key_withdraw(kid=signing.kid)
    with pytest.raises(NotFound):
        services.signing_key_withdraw(kid="no-such-key")
    assert jwks.key_directory().signing_key() == signing


def test_the_command_rotates_and_lists(key_dir, capsys):
    call_command("rotate_signing_key", "--now")
    out = capsys.readouterr().out

    added = out.split()[1].rstrip(",")
    assert out.startswith(f"added {added}, signing from ")
    assert f"{added}  from " in out and "signs now" in out
    assert "retired, published" in out  # the first key, until its tokens have expired


def test_the_command_withdraws_a_key_named_after_an_equals_sign_even_one_beginning_with_a_dash(
    key_dir, capsys
):
    first = jwks.key_directory().signing_key()
    call_command("rotate_signing_key", "--now")
    capsys.readouterr()

    call_command("rotate_signing_key", f"--withdraw={first.kid}")

    assert capsys.readouterr().out.splitlines()[0] == f"withdrew {first.kid}"
    assert first.kid not in {key.kid for key in jwks.key_directory().on_disk()}
    # A thumbprint is base64url: one id in 64 begins with "-", an option to argparse without "=".
    with pytest.raises(CommandError, match="No signing key has the id -x1"):
        call_command("rotate_signing_key", "--withdraw=-x1")


# -- the JWKS --------------------------------------------------------------------------------------


def test_the_jwks_holds_public_keys_only_and_is_public():
    response = APIClient().get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}  # no private member (d, p, q...)
    assert key["kid"] == own().kid and key["alg"] == "RS256" and key["use"] == "sig"


def test_the_jwks_is_served_over_the_internal_network_s_plain_http(settings):
    settings.SECURE_SSL_REDIRECT = True  # as in production

    assert APIClient().get("/.well-known/jwks.json").status_code == 200
    assert APIClient().get("/users/me").status_code == 301  # the public API is still redirected


def test_the_user_service_without_a_signing_key_is_not_ready(settings, tmp_path):
    settings.JWT_SIGNING_KEYS_DIR = str(tmp_path / "keys")
    settings.JWT_PRIVATE_KEY_FILE = str(tmp_path / "absent.pem")
    clear_caches()
    try:
        response = APIClient().get("/health/ready")
    finally:
        clear_caches()

    assert response.status_code == 503
    assert "rotate_signing_key --now" in response.json()["checks"]["signing_key"]


# -- verifiers reading the JWKS over HTTP ------------------------------------------------------------


class JwksServer:
    """A real HTTP server answering with a JWK Set, counting the reads; `up` turns it off."""

    def __init__(self, keys: list[dict]):
        self.keys, self.reads, self.up = keys, 0, True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.reads += 1
                if not outer.up:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server(settings):
    server = JwksServer([own().jwk])
    settings.JWKS_URL = server.url
    jwks.key_ring.cache_clear()
    yield server
    server.close()
    jwks.key_ring.cache_clear()


def test_a_verifier_reads_the_keys_once_and_again_only_for_a_new_key(jwks_server):
    person = factories.individual()
    token = access_token_for(person.pk, "applicant", "individual")

    for _ in range(3):
        assert bearer(token).get("/grants/applications").status_code == 200
    assert jwks_server.reads == 1

    other = stranger()
    time.sleep(1.1)
    jwks_server.keys = [*jwks_server.keys, other.jwk]
    claims = {**tokens.AccessToken(token).payload, "jti": "n" * 32}
    assert bearer(other.sign(claims)).get("/grants/applications").status_code == 200
    assert jwks_server.reads == 2  # the unknown key id made it read the set again


def test_a_token_signed_with_a_new_key_right_after_a_read_waits_for_the_next_read(jwks_server):
    person = factories.individual()
    token = access_token_for(person.pk, "applicant", "individual")
    assert bearer(token).get("/grants/applications").status_code == 200

    other = stranger()  # published just after the verifier's read, and signing at once
    jwks_server.keys = [*jwks_server.keys, other.jwk]
    claims = {**tokens.AccessToken(token).payload, "iat": int(time.time()), "jti": "w" * 32}
    response = bearer(other.sign(claims)).get("/grants/applications")

    assert response.status_code == 200  # not refused: it waited out the one-second spacing
    assert jwks_server.reads == 2


def test_forged_key_ids_cost_the_user_service_at_most_one_read_a_second(jwks_server):
    person = factories.individual()
    bearer(access_token_for(person.pk, "applicant", "individual")).get("/grants/applications")

    for n in range(20):
        forged = own().sign({"user_id": person.pk}, kid=f"made-up-{n}")
        assert bearer(forged).get("/grants/applications").status_code == 401

    assert jwks_server.reads <= 2


def test_a_verifier_keeps_its_copy_while_the_user_service_is_down(jwks_server):
    person = factories.individual()
    token = access_token_for(person.pk, "applicant", "individual")
    assert bearer(token).get("/grants/applications").status_code == 200

    jwks_server.up = False
    time.sleep(1.1)
    jwks.key_ring().fetch()

    assert jwks_server.reads == 2
    assert bearer(token).get("/grants/applications").status_code == 200


def test_a_verifier_that_never_read_the_keys_answers_503_not_401(jwks_server):
    jwks_server.up = False
    person = factories.individual()

    response = bearer(access_token_for(person.pk, "applicant", "individual")).get(
        "/grants/applications"
    )

    assert response.status_code == 503
    assert problem(response)["code"] == "keys_unavailable"
