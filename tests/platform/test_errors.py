import pytest

pytestmark = pytest.mark.django_db(databases="__all__")


def test_an_invalid_token_gets_the_platform_error_shape(api_client):
    response = api_client.get("/users/me", HTTP_AUTHORIZATION="Bearer not.a.token")

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "token_not_valid"
    assert "{" not in error["message"]
