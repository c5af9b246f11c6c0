"""Finance test fixtures."""

import pytest


@pytest.fixture
def client_as(client_as):
    """The shared `client_as`, sending JSON bodies (the services accept JSON only)."""

    def make(*args, **kwargs):
        client = client_as(*args, **kwargs)
        client.default_format = "json"
        return client

    return make
