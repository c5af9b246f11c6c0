import pytest

from tests.problems import problem

pytestmark = pytest.mark.django_db(databases="__all__")


def test_liveness_answers_without_a_token(api_client):
    response = api_client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readiness_checks_every_database_the_broker_and_the_signing_key(api_client):
    response = api_client.get("/health/ready")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks == {
        "database:default": "ok",
        "database:grants": "ok",
        "database:finance": "ok",
        "broker": "ok",
        "signing_key": "ok",  # this process signs tokens, as the User Service does
    }


def test_readiness_is_503_when_the_broker_is_unreachable(api_client, settings):
    from hms.celery import app

    # The transport too: with the embedded broker, `broker_transport` names it whatever the URL.
    original = app.conf.broker_url, app.conf.broker_transport
    app.conf.broker_url, app.conf.broker_transport = "redis://127.0.0.1:1/0", None
    try:
        response = api_client.get("/health/ready")
    finally:
        app.conf.broker_url, app.conf.broker_transport = original

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] != "ok"


def test_unknown_path_is_a_json_404(api_client):
    response = api_client.get("/no-such-thing")

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"
