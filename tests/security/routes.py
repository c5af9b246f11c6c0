"""Every API route a service serves, found by walking its URL resolver (new routes included)."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from hms.public_routes import PUBLIC_ROUTES

SERVICE_URLCONFS = {
    "users": "hms.urls.users",
    "grants": "hms.urls.grants",
    "finance": "hms.urls.finance",
}
METHODS = ("get", "post", "put", "patch", "delete")

# (method, route) anyone may call without a token: the platform's one declaration.
PUBLIC = {(method.lower(), route) for method, route in PUBLIC_ROUTES}
# The platform's own pages: liveness, readiness, the OpenAPI document and its UI.
PLATFORM_PUBLIC = {"health", "health/ready", "schema", "docs"}
# Pages for browsers, not the API: the admins, the sign-in and the OpenID Connect protocol
# (tests/users/test_oidc_provider.py, tests/staff/test_sign_on.py, tests/e2e/test_single_sign_on.py).
BROWSER_PREFIXES = ("admin/", "sign-in/", "o/", "oidc/")

CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
SAMPLE = {
    "int": "1",
    "str": "SAMPLE-1",
    "slug": "sample-1",
    "uuid": "00000000-0000-4000-8000-000000000001",
}


@dataclass(frozen=True)
class Route:
    service: str
    route: str  # as written in urls.py, e.g. "grants/applications/<int:application_id>"
    method: str
    view_class: type

    @property
    def public(self) -> bool:
        return (self.method, self.route) in PUBLIC

    def path(self, **values: str) -> str:
        def fill(match: re.Match) -> str:
            name, converter = match["name"], match["converter"] or "str"
            return values.get(name, SAMPLE.get(converter, "1"))

        return "/" + CONVERTER.sub(fill, self.route)

    @property
    def id(self) -> str:
        return f"{self.service}:{self.method.upper()} /{self.route}"


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def api_routes(service: str) -> list[Route]:
    """The service's DRF routes with each method its view answers (admin and platform pages aside)."""
    routes = []
    for route, callback in _walk(get_resolver(SERVICE_URLCONFS[service]).url_patterns):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if route.startswith(BROWSER_PREFIXES) or route in PLATFORM_PUBLIC or view_class is None:
            continue
        for method in METHODS:
            if hasattr(view_class, method) and method in view_class.http_method_names:
                routes.append(Route(service, route, method, view_class))
    return routes


def all_api_routes() -> list[Route]:
    return [route for service in SERVICE_URLCONFS for route in api_routes(service)]
