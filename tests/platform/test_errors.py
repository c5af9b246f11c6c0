import pytest

from tests.problems import problem

pytestmark = pytest.mark.django_db(databases="__all__")


def test_an_invalid_token_gets_the_platform_error_shape(api_client):
    response = api_client.get("/users/me", HTTP_AUTHORIZATION="Bearer not.a.token")

    assert response.status_code == 401
    error = problem(response)
    assert error["code"] == "token_not_valid"
    assert "{" not in error["detail"]
