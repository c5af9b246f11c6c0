"""Against the real processes: the gateway refuses bad tokens before any service sees them, each
service refuses them again when reached directly, and one applicant cannot reach another's
objects through the front door."""

import json
import urllib.error
import urllib.request

import pytest

from tests.e2e.harness import wait_until
from tests.keys import Signer
from tests.problems import MEMBERS
from tests.security.forged import forged_tokens

pytestmark = pytest.mark.e2e

ADA, ACME = 4, 5  # the demo applicants (individual, business), ids fixed by `seed_demo`


def request(url: str, *, token: str | None = None, method: str = "GET", body=None):
    headers = {"Accept": "application/json"}
    data = None
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    call = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


@pytest.fixture(scope="module")
def forged(seeded_platform):
    return forged_tokens(Signer(seeded_platform.private_key_pem))


@pytest.fixture(scope="module")
def demo_ids(seeded_platform) -> dict[str, dict[int, list[int]]]:
    """Each demo applicant's application, award, disbursement and reimbursement ids."""
    grants = seeded_platform.shell(
        "grants",
        "import json; from apps.grants.models import Application as A; "
        "print(json.dumps({i: list(A.objects.filter(applicant_id=i).values_list('pk', flat=True)) for i in (4, 5)}))",
    )
    finance = seeded_platform.shell(
        "finance",
        "import json; from apps.finance.models import Award, Disbursement, ReimbursementRequest as R; "
        "print(json.dumps({"
        "'award': list(Award.objects.filter(applicant_id=5).values_list('pk', flat=True)), "
        "'disbursement': list(Disbursement.objects.filter(award__applicant_id=5).values_list('pk', flat=True)), "
        "'reimbursement': list(R.objects.filter(award__applicant_id=5).values_list('pk', flat=True))}))",
    )
    applications = {int(k): v for k, v in json.loads(grants.splitlines()[-1]).items()}
    return {"application": applications, **json.loads(finance.splitlines()[-1])}


PROTECTED_AT_GATEWAY = [
    "/api/v1/users/me",
    "/api/v1/grants/applications",
    "/api/v1/finance/awards",
    "/status?user=5",
]
PROTECTED_AT_SERVICES = {
    "users": "/users/me",
    "grants": "/grants/applications",
    "finance": "/finance/awards",
}
# The gateway checks signature, algorithm, expiry, issuer, audience and token type itself; the
# service-identity rules (service tokens) are the services' own, and still end in 401.
REFUSED_AT_THE_EDGE = {
    "expired",
    "tampered",
    "alg_none",
    "hs256_public_key",
    "other_key",
    "wrong_issuer",
    "no_issuer",
    "wrong_audience",
    "no_audience",
    "refresh_as_access",
    "unknown_role",
    "garbage",
}


def test_a_genuine_token_passes_the_gateway(seeded_platform):
    token = seeded_platform.token(ACME, "applicant", "business")

    status, _, _ = request(f"{seeded_platform.url('gateway')}/api/v1/finance/awards", token=token)

    assert status == 200


@pytest.mark.parametrize("path", PROTECTED_AT_GATEWAY)
def test_every_forged_token_gets_401_json_at_the_gateway(seeded_platform, forged, path):
    for kind, token in forged.items():
        status, body, _ = request(f"{seeded_platform.url('gateway')}{path}", token=token)
        assert status == 401, (kind, body)
        assert set(body) >= MEMBERS and body["code"] == "token_not_valid", (kind, body)


@pytest.mark.parametrize("path", PROTECTED_AT_GATEWAY)
def test_no_token_gets_401_at_the_gateway(seeded_platform, path):
    status, body, _ = request(f"{seeded_platform.url('gateway')}{path}")

    assert status == 401
    assert body["code"] == "not_authenticated"


def test_a_forged_token_never_reaches_a_service(seeded_platform, forged):
    gateway = seeded_platform.url("gateway")
    # The services log each request's path: a marker path shows whether a request got there.
    for kind in REFUSED_AT_THE_EDGE:
        request(f"{gateway}/api/v1/grants/edge-check-forged", token=forged[kind])
    genuine = seeded_platform.token(ACME, "applicant", "business")
    request(f"{gateway}/api/v1/grants/edge-check-genuine", token=genuine)

    log = wait_until(
        lambda: (text := seeded_platform.log("grants")) and "edge-check-genuine" in text and text
    )
    assert "edge-check-forged" not in log


@pytest.mark.parametrize("service", PROTECTED_AT_SERVICES)
def test_a_service_reached_directly_refuses_no_token_and_forged_tokens(
    seeded_platform, forged, service
):
    url = f"{seeded_platform.url(service)}{PROTECTED_AT_SERVICES[service]}"

    assert request(url)[0] == 401
    for kind, token in forged.items():
        status, body, _ = request(url, token=token)
        assert status == 401, (service, kind, body)


# -- object level, through the gateway ------------------------------------------------------------


def test_an_applicant_gets_404_for_another_applicants_objects_through_the_gateway(
    seeded_platform, demo_ids
):
    gateway = seeded_platform.url("gateway")
    ada = seeded_platform.token(ADA, "applicant", "individual")
    acme_application = demo_ids["application"][ACME][0]
    paths = [
        f"/api/v1/users/{ACME}",
        f"/api/v1/grants?user={ACME}",
        f"/status?user={ACME}",
        f"/api/v1/grants/applications/{acme_application}",
        f"/api/v1/grants/applications/{acme_application}/history",
        f"/api/v1/finance/awards/{demo_ids['award'][0]}",
        f"/api/v1/finance/awards/{demo_ids['award'][0]}/ledger",
    ]
    if demo_ids["disbursement"]:
        paths.append(f"/api/v1/finance/disbursements/{demo_ids['disbursement'][0]}")
    if demo_ids["reimbursement"]:
        paths.append(f"/api/v1/finance/reimbursements/{demo_ids['reimbursement'][0]}")

    for path in paths:
        status, body, _ = request(f"{gateway}{path}", token=ada)
        assert status == 404, (path, body)

    acme = seeded_platform.token(ACME, "applicant", "business")
    for path in paths:
        status, body, _ = request(f"{gateway}{path}", token=acme)
        assert status == 200, (path, body)


def test_lists_through_the_gateway_hold_only_the_callers_rows(seeded_platform, demo_ids):
    gateway = seeded_platform.url("gateway")
    ada = seeded_platform.token(ADA, "applicant", "individual")

    for path in (
        "/api/v1/finance/awards",
        "/api/v1/finance/disbursements",
        "/api/v1/finance/reimbursements",
    ):
        status, body, _ = request(f"{gateway}{path}?applicant={ACME}", token=ada)
        assert status in (200, 400, 404), (path, body)
        if status == 200:
            assert all(row.get("applicant_id") == ADA for row in body["results"]), path
    status, body, _ = request(f"{gateway}/api/v1/grants/applications", token=ada)
    assert status == 200
    listed = {row["id"] for row in body["results"]}
    assert not listed & set(demo_ids["application"][ACME])


def test_an_applicant_cannot_approve_or_pay_through_the_gateway(seeded_platform, demo_ids):
    gateway = seeded_platform.url("gateway")
    acme = seeded_platform.token(ACME, "applicant", "business")
    application = demo_ids["application"][ACME][0]

    approve = request(
        f"{gateway}/api/v1/grants/review/applications/{application}/approve",
        token=acme,
        method="POST",
        body={},
    )
    close = request(
        f"{gateway}/api/v1/finance/awards/{demo_ids['award'][0]}/close",
        token=acme,
        method="POST",
        body={},
    )

    assert approve[0] == 403
    assert close[0] == 403


def test_an_oversized_body_is_refused_at_the_gateway_and_at_the_service(seeded_platform):
    token = seeded_platform.token(ACME, "applicant", "business")
    body = {"title": "x" * (2 * 1024 * 1024)}

    via_gateway = request(
        f"{seeded_platform.url('gateway')}/api/v1/grants/applications",
        token=token,
        method="POST",
        body=body,
    )
    direct = request(
        f"{seeded_platform.url('grants')}/grants/applications",
        token=token,
        method="POST",
        body=body,
    )

    assert via_gateway[0] in (400, 413), via_gateway[:2]
    assert direct[0] == 413, direct[:2]


def test_the_gateway_answers_with_the_security_headers(seeded_platform):
    _, _, headers = request(f"{seeded_platform.url('gateway')}/api/v1/finance/awards")

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
