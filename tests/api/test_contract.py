"""The API as a contract, through the gateway of a running platform loaded with the demo data:

- schemathesis sends generated requests to every operation of the gateway's /schema, as an
  applicant and as staff, and checks every answer against what the schema documents (its status,
  its content type, its body);
- a Python client generated from that schema by openapi-python-client walks an applicant's story,
  getting typed answers, a 404 and a 409 among them.

Either fails as soon as the schema and the code drift apart.
"""

import importlib
import os
import subprocess
import sys
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.harness import BIN, REPO, start_platform

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """A platform of this module's own (the fuzzing changes its data), with the demo data."""
    running = start_platform(
        tmp_path_factory.mktemp("contract-platform"),
        # The fuzzing is one client sending as fast as it can: not what the limit is for.
        {"gateway": {"GATEWAY_RATE_LIMIT": "off"}},
    )
    try:
        for service in ("users", "grants", "finance"):
            running.manage(service, "seed_demo")
    except BaseException:
        running.close()
        raise
    yield running
    running.close()


def demo_user(platform, email: str) -> int:
    return int(
        platform.shell(
            "users",
            f"from apps.users.models import Profile; print(Profile.objects.get(email={email!r}).pk)",
        ).splitlines()[-1]
    )


def fuzz(platform, token: str) -> list[str]:
    base = platform.url("gateway")
    schema = schemathesis.openapi.from_url(f"{base}/schema")
    headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        if operation.body or operation.query:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case):
            response = case.call(base_url=base, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    return failures


def test_every_operation_answers_as_documented_for_an_applicant(platform):
    token = platform.token(demo_user(platform, "owner@acme.example"), "applicant", "business")

    failures = fuzz(platform, token)

    assert failures == [], "\n\n".join(failures)


def test_every_operation_answers_as_documented_for_staff(platform):
    token = platform.token(demo_user(platform, "admin@hms.example"), "administrator", None)

    failures = fuzz(platform, token)

    assert failures == [], "\n\n".join(failures)


# ------------------------------------------------------------------------------------------------
# A generated client
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hms_client(platform, tmp_path_factory):
    """The `hms_client` package openapi-python-client generates from the gateway's /schema."""
    import urllib.request

    folder = tmp_path_factory.mktemp("generated-client")
    with urllib.request.urlopen(f"{platform.url('gateway')}/schema", timeout=30) as response:
        (folder / "schema.json").write_bytes(response.read())
    generated = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(folder / "schema.json"),
            "--meta",
            "none",
            "--output-path",
            str(folder / "hms_client"),
            "--overwrite",
        ],
        cwd=REPO,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # Every operation became a function: nothing of the schema was skipped as unsupported.
    assert "Unable to parse" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("hms_client")
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == "hms_client"]:
            del sys.modules[name]


def test_a_generated_client_walks_an_applicants_story_with_typed_answers(platform, hms_client):
    from hms_client import AuthenticatedClient, Client
    from hms_client.api.gateway import gateway_status
    from hms_client.api.grants import (
        grants_applications_create,
        grants_applications_retrieve,
        grants_applications_submit,
        grants_programs_list,
    )
    from hms_client.api.users import users_register, users_token_obtain
    from hms_client.models import (
        GatewayStatus,
        GrantsApplication,
        GrantsApplicationActionRequest,
        GrantsApplicationCreateRequest,
        GrantsBudgetLineRequest,
        GrantsCategoryEnum,
        Problem,
        UsersIndividualRegistrationKindEnum,
        UsersIndividualRegistrationRequest,
        UsersTokenObtainRequest,
        UsersTokenPair,
        UsersUserProfile,
    )

    anonymous = Client(base_url=platform.url("gateway"), raise_on_unexpected_status=True)
    email = f"client-{uuid.uuid4().hex[:8]}@example.com"
    profile = users_register.sync(
        client=anonymous,
        body=UsersIndividualRegistrationRequest(
            kind=UsersIndividualRegistrationKindEnum.INDIVIDUAL,
            legal_name="Grace Client",
            email=email,
            password="a-long-unusual-passphrase-42",
            phone="+1 202 555 0143",
            address_line1="1 Main St",
            city="Springfield",
            state="IL",
            zip_code="62701",
        ),
    )
    assert isinstance(profile, UsersUserProfile), profile
    tokens = users_token_obtain.sync(
        client=anonymous,
        body=UsersTokenObtainRequest(email=email, password="a-long-unusual-passphrase-42"),
    )
    assert isinstance(tokens, UsersTokenPair), tokens
    client = AuthenticatedClient(
        base_url=platform.url("gateway"), token=tokens.access, raise_on_unexpected_status=True
    )

    programs = grants_programs_list.sync(client=client)
    program = next(
        p for p in programs.results if "individual" in [kind.value for kind in p.eligible_kinds]
    )
    body = GrantsApplicationCreateRequest(
        program=program.code,
        title="A generated client's project",
        project_summary="Written by a client generated from the schema.",
        requested_amount=program.min_award,
        budget_lines=[
            GrantsBudgetLineRequest(
                category=GrantsCategoryEnum.PERSONNEL,
                description="Everything",
                amount=program.min_award,
            )
        ],
    )
    key = str(uuid.uuid4())
    draft = grants_applications_create.sync(client=client, body=body, idempotency_key=key)
    again = grants_applications_create.sync(client=client, body=body, idempotency_key=key)
    assert isinstance(draft, GrantsApplication), draft
    assert isinstance(again, GrantsApplication) and again.id == draft.id  # created once

    # Someone else's (or no) application: a typed 404.
    missing = grants_applications_retrieve.sync_detailed(client=client, application_id=999_999)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, Problem) and missing.parsed.code == "not_found"

    submitted = grants_applications_submit.sync(
        client=client, application_id=draft.id, body=GrantsApplicationActionRequest()
    )
    assert isinstance(submitted, GrantsApplication) and submitted.status.value == "submitted"
    # Submitting again: a typed 409 saying where it stands.
    twice = grants_applications_submit.sync_detailed(
        client=client, application_id=draft.id, body=GrantsApplicationActionRequest()
    )
    assert twice.status_code == 409
    assert isinstance(twice.parsed, Problem) and twice.parsed.code == "invalid_transition"
    assert twice.parsed.additional_properties["current_status"] == "submitted"

    status = gateway_status.sync(client=client)
    assert isinstance(status, GatewayStatus), status
    assert [application.id for application in status.applications] == [draft.id]
    assert status.user.email == email


def test_the_gateway_serves_the_document_the_compatibility_check_holds(platform):
    """What the running gateway serves is what tests/api/schema.py builds offline (and what
    test_compatibility.py compares with the released document)."""
    import json
    import urllib.request

    from tests.api.schema import platform_document

    with urllib.request.urlopen(f"{platform.url('gateway')}/schema", timeout=30) as response:
        served = json.loads(response.read())

    assert served == json.loads(json.dumps(platform_document()))
