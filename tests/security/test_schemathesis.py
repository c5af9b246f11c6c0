"""Schemathesis against each data service's own OpenAPI document, in process, on demo data.

Every operation gets a bounded number of generated requests (derandomized, so a run is
repeatable), once with an applicant's token and once with an administrator's; no answer may be a
server error or break the documented response schema.
"""

from contextlib import contextmanager
from io import StringIO

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.identity import access_token_for
from tests.security.routes import SERVICE_URLCONFS

pytestmark = pytest.mark.django_db(databases="__all__")

EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def demo_data(settings):
    """Every service's demo data; returns the demo applicants' platform ids by email."""
    from apps.finance.management.commands import seed_demo as finance_seed
    from apps.grants.management.commands import seed_demo as grants_seed
    from apps.users.management.commands import seed_demo as users_seed
    from apps.users.models import Profile

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "100000/min", "registration": "100000/min"},
    }
    for command in (users_seed, grants_seed, finance_seed):
        call_command(command.Command(), stdout=StringIO())
    return {profile.email: profile.pk for profile in Profile.objects.all()}


@contextmanager
def connections_kept_open():
    """As Django's test client does: a request must not close the test's open transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def service_schema(service: str):
    document = SchemaGenerator(urlconf=SERVICE_URLCONFS[service]).get_schema(
        request=None, public=True
    )
    schema = schemathesis.openapi.from_dict(document)
    schema.app = get_wsgi_application()
    return schema


def existing_ids() -> dict[str, list]:
    """Path parameter values that name real demo objects, so requests get past the 404."""
    from apps.finance.models import Award, Disbursement, ReimbursementRequest
    from apps.grants.models import Application, Program
    from apps.users.models import Profile

    def ids(model, field="pk"):
        return list(model.objects.values_list(field, flat=True)[:10])

    return {
        "user_id": ids(Profile),
        "code": ids(Program, "code"),
        "application_id": ids(Application),
        "award_id": ids(Award),
        "disbursement_id": ids(Disbursement),
        "reimbursement_id": ids(ReimbursementRequest),
    }


def strategy_for(operation, known: dict[str, list]):
    """Valid and invalid requests, some of them aimed at objects that exist."""
    names = [parameter.name for parameter in operation.path_parameters]
    aimed = [
        operation.as_strategy(mode, path_parameters={name: value})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for name in names
        for value in known.get(name, [])
        if len(names) == 1
    ]
    anywhere = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.body or operation.query:  # something to get wrong besides the path
        anywhere.append(operation.as_strategy(GenerationMode.NEGATIVE))
    if aimed:
        anywhere.append(st.sampled_from(aimed).flatmap(lambda strategy: strategy))
    return st.one_of(anywhere)


def fuzz(service: str, token: str) -> list[str]:
    """Run every operation of the service; the failures, one line each."""
    failures = []
    headers = {"Authorization": f"Bearer {token}"}
    known = existing_ids()
    for result in service_schema(service).get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy_for(operation, known))
        def check_operation(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            with connections_kept_open():
                check_operation()
        except Exception as exc:
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    return failures


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_no_server_error_and_no_schema_violation_for_an_applicant(demo_data, service):
    token = access_token_for(demo_data["owner@acme.example"], "applicant", "business")

    failures = fuzz(service, token)

    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_no_server_error_and_no_schema_violation_for_staff(demo_data, service):
    token = access_token_for(demo_data["admin@hms.example"], "administrator", None)

    failures = fuzz(service, token)

    assert failures == [], "\n\n".join(failures)
