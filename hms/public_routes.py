"""The API routes anyone may call without a token, declared once.

The gateway forwards an anonymous call only to these (`gateway.edge`); at the services, these
are exactly the views that allow anyone (tests/security holds both to this list). Routes are
written as in the services' `urls.py`. Imports nothing, so the gateway's hot path stays light.
"""

import re

PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "users/register"),
        ("POST", "users/token"),
        ("POST", "users/token/refresh"),
        ("GET", "grants/programs"),
        ("GET", "grants/programs/<str:code>"),
        ("GET", "grants/programs/<str:code>/form"),
        # Services authenticate here with their client id and secret, not a token; internal
        # (outside every service's prefix), so the gateway never forwards it.
        ("POST", "internal/oauth/token"),
        # The keys every verifier checks tokens against (hms.jwks); outside every prefix too.
        ("GET", ".well-known/jwks.json"),
    }
)

# What each of Django's path converters matches (django.urls.converters).
_CONVERTERS = {"str": "[^/]+", "int": "[0-9]+", "slug": "[-a-zA-Z0-9_]+"}
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?\w+>")


def _pattern(route: str) -> re.Pattern:
    parts, last = [], 0
    for match in _PARAMETER.finditer(route):
        parts.append(re.escape(route[last : match.start()]))
        parts.append(_CONVERTERS[match["converter"] or "str"])
        last = match.end()
    parts.append(re.escape(route[last:]))
    return re.compile("^/" + "".join(parts) + "$")


_COMPILED = tuple((method, _pattern(route)) for method, route in sorted(PUBLIC_ROUTES))


def is_public(method: str, path: str) -> bool:
    """Whether `method path` (the path as the owning service sees it) needs no token."""
    method = "GET" if method == "HEAD" else method
    return any(method == allowed and pattern.match(path) for allowed, pattern in _COMPILED)
