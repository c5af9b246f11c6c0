"""Hostile input at every data service: oversized bodies, deep JSON, huge page sizes, malformed ids
and huge numbers get a 4xx JSON answer, never a 500 or a slow query."""

import io
import time

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from hms.parsers import (
    MAX_JSON_DEPTH,
    LimitedJSONParser,
    RequestTooLarge,
    json_depth_exceeds,
    read_limited,
)
from tests.identity import access_token_for
from tests.problems import fields, problem
from tests.security.routes import SERVICE_URLCONFS, all_api_routes

pytestmark = pytest.mark.django_db(databases="__all__")

ROUTES = all_api_routes()
WRITE_ROUTES = [route for route in ROUTES if route.method in ("post", "put", "patch")]
GET_ROUTES = [route for route in ROUTES if route.method == "get"]
ID_ROUTES = [route for route in ROUTES if "<int:" in route.route]
# Every kind of caller: who gets as far as parsing a body differs by route.
CALLERS = {
    "applicant": (4, "applicant", "business"),
    "caseworker": (2, "caseworker", None),
    "finance_officer": (3, "finance_officer", None),
    "administrator": (1, "administrator", None),
}


def client_for(caller: str | None) -> APIClient:
    client = APIClient()
    if caller:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(*CALLERS[caller])}")
    return client


def send(client: APIClient, route, path: str | None = None, body: bytes = b"{}"):
    if route.method in ("get", "delete"):
        return getattr(client, route.method)(path or route.path())
    return getattr(client, route.method)(
        path or route.path(), data=body, content_type="application/json"
    )


def assert_json_error(response, status: int | tuple[int, ...]):
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    problem(response)


def assert_client_error(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])


def nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)


@pytest.fixture(autouse=True)
def _open_throttles(settings):
    # Hundreds of requests here; login/registration throttling is tested where it lives.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"login": "100000/min", "registration": "100000/min"},
    }


# -- the parser itself ------------------------------------------------------------------------


def parse(body: bytes, **meta):
    request = type("Request", (), {"META": meta})()
    return LimitedJSONParser().parse(io.BytesIO(body), parser_context={"request": request})


def test_the_parser_reads_a_normal_document():
    assert parse(b'{"title": "Robots", "lines": [{"amount": "10.00"}]}') == {
        "title": "Robots",
        "lines": [{"amount": "10.00"}],
    }


def test_the_parser_refuses_a_body_over_the_limit_even_without_a_content_length(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    with pytest.raises(RequestTooLarge):
        parse(b'{"a": "' + b"x" * 2048 + b'"}')


def test_the_parser_refuses_a_declared_length_over_the_limit_before_reading(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    class Unreadable(io.RawIOBase):
        def read(self, size=-1):
            raise AssertionError("the body must not be read")

    with pytest.raises(RequestTooLarge):
        read_limited(Unreadable(), 1024, declared_length=4096)


def test_a_document_at_the_depth_limit_is_fine_one_deeper_is_not():
    assert not json_depth_exceeds(parse(nested(MAX_JSON_DEPTH)), MAX_JSON_DEPTH)
    with pytest.raises(ParseError, match="nested deeper"):
        parse(nested(MAX_JSON_DEPTH + 1))


def test_a_pathologically_deep_document_is_refused_quickly():
    started = time.monotonic()
    with pytest.raises(ParseError):
        parse(b"[" * 200_000 + b"]" * 200_000)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "body",
    [b"NaN", b'{"a": Infinity}', b"\xff\xfe", b'{"a": 1' + b"0" * 30 + b"}", b"9" * 5000],
    ids=["nan", "infinity", "not-utf8", "huge-int", "int-over-python-digit-limit"],
)
def test_the_parser_refuses_what_json_or_a_database_cannot_hold(body):
    with pytest.raises(ParseError):
        parse(body)


def test_an_unknown_charset_is_a_parse_error():
    request = type("Request", (), {"META": {}})()
    with pytest.raises(ParseError):
        LimitedJSONParser().parse(
            io.BytesIO(b"{}"), parser_context={"request": request, "encoding": "x-no-such"}
        )


def test_every_service_parses_json_with_the_limited_parser():
    from rest_framework.settings import api_settings

    assert [LimitedJSONParser] == api_settings.DEFAULT_PARSER_CLASSES


# -- at every data service ----------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_an_oversized_body_gets_413_json_at_every_service(settings, service):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    body = b'{"description": "' + b"x" * 8192 + b'"}'
    too_large = 0
    for route in [r for r in WRITE_ROUTES if r.service == service]:
        for caller in CALLERS:
            response = send(client_for(caller), route, body=body)
            assert_client_error(response)
            too_large += response.status_code == 413
            if response.status_code == 413:
                assert_json_error(response, 413)
    assert too_large, f"no {service} endpoint parsed the oversized body"


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_the_default_limit_is_one_mebibyte(settings, service):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    route = next(r for r in WRITE_ROUTES if r.service == service)
    body = b'{"description": "' + b"x" * (1024 * 1024) + b'"}'
    statuses = {send(client_for(c), route, body=body).status_code for c in CALLERS}
    assert statuses <= {401, 403, 404, 405, 413}
    assert 500 not in statuses


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_deeply_nested_json_gets_400_json_at_every_service(service, depth):
    refused = 0
    for route in [r for r in WRITE_ROUTES if r.service == service]:
        for caller in CALLERS:
            response = send(client_for(caller), route, body=nested(depth))
            assert_client_error(response)
            if response.status_code == 400 and "nested" in problem(response)["detail"]:
                refused += 1
    assert refused, f"no {service} endpoint parsed the nested body"


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_huge_integers_in_a_body_get_400_at_every_service(service):
    body = b'{"amount": "1.00", "award": 99999999999999999999999, "version": 1e400}'
    for route in [r for r in WRITE_ROUTES if r.service == service]:
        for caller in CALLERS:
            assert_client_error(send(client_for(caller), route, body=body))


def paginated_routes():
    """(route, caller) for every list that answers a page (count/results) to some caller."""
    found = []
    for route in GET_ROUTES:
        if "<" in route.route:
            continue
        for caller in CALLERS:
            response = client_for(caller).get(route.path(), {"user": 4})
            if response.status_code == 200 and {"count", "results"} <= set(response.json()):
                found.append((route, caller))
                break
    return found


@pytest.fixture
def callers_with_accounts(monkeypatch):
    """The callers as accounts the User Service holds: it refuses a token that names none."""
    from tests.users import factories

    monkeypatch.setitem(CALLERS, "applicant", (factories.business().pk, "applicant", "business"))
    for role in ("caseworker", "finance_officer", "administrator"):
        monkeypatch.setitem(CALLERS, role, (factories.staff(role).pk, role, None))


def test_every_paginated_list_refuses_a_page_size_over_100_with_400(
    settings, callers_with_accounts
):
    found = paginated_routes()
    services = set()
    for route, caller in found:
        settings.ROOT_URLCONF = SERVICE_URLCONFS[route.service]
        client = client_for(caller)
        for page_size in ("101", "1000000", "99999999999999999999999", "0", "-1", "ten", "1e3"):
            response = client.get(route.path(), {"page_size": page_size})
            assert_json_error(response, 400)
            assert "page_size" in fields(response), route.id
        assert client.get(route.path(), {"page_size": "100"}).status_code == 200, route.id
        services.add(route.service)
    assert services == set(SERVICE_URLCONFS), found


@pytest.mark.parametrize("service", SERVICE_URLCONFS)
def test_malformed_huge_and_control_character_ids_in_paths_get_4xx_never_500(settings, service):
    settings.ROOT_URLCONF = SERVICE_URLCONFS[service]
    routes = [r for r in ID_ROUTES if r.service == service]
    assert routes
    for route in routes:
        name = route.route.split("<int:")[1].split(">")[0]
        for caller in CALLERS:
            client = client_for(caller)
            for bad in ("abc", "-1", "1.5", "1%20OR%201=1", "0x10"):
                response = send(client, route, path=route.path(**{name: bad}))
                assert_json_error(response, 404)
            for control in ("%00", "1%00", "%01", "1%0A", "%7F"):  # PostgreSQL refuses NUL: a 500
                response = send(client, route, path=route.path(**{name: control}))
                assert_json_error(response, 400)
                assert problem(response)["code"] == "bad_request"
            for huge in ("0", "99999999999999999999999", "9" * 5000, str(2**63)):
                assert_client_error(send(client, route, path=route.path(**{name: huge})))


@pytest.mark.parametrize(
    "query",
    [
        {"user": "99999999999999999999999"},
        {"user": "abc"},
        {"user": "-1"},
        {"user": "1e3"},
        {"applicant": "99999999999999999999999"},
        {"applicant": "abc"},
        {"award": "99999999999999999999999"},
        {"application": "x' OR 1=1 --"},
        {"status": "no-such-status"},
        {"program": "'; DROP TABLE grants_program; --"},
        {"page": "99999999999999999999999"},
        {"page": "abc"},
        {"search": "%" * 1000},
        {"ordering": "-password"},
    ],
    ids=str,
)
def test_malformed_query_parameters_get_4xx_or_an_empty_answer_never_500(settings, query):
    for route in GET_ROUTES:
        if "<" in route.route:
            continue
        settings.ROOT_URLCONF = SERVICE_URLCONFS[route.service]
        for caller in CALLERS:
            response = client_for(caller).get(route.path(), query)
            assert response.status_code < 500, (route.id, caller, response.content[:300])
