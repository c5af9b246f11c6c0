"""Where the current request comes from, for the audit trail: services never take `request`."""

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

from hms.context import correlation_id

MAX_USER_AGENT = 300
MAX_FORWARDED_FOR = 200


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None
    forwarded_for: str
    user_agent: str
    request_id: str


request_origin: ContextVar[RequestOrigin | None] = ContextVar("request_origin", default=None)


def client_address(meta) -> str | None:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by our own proxies.

    Only the last NUM_PROXIES entries were written by proxies we run (the gateway replaces the
    header with the address it saw); anything before them is what the client chose to send.
    """
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
        if entries:
            return entries[-min(num_proxies, len(entries))] or None
    return meta.get("REMOTE_ADDR") or None


def origin_of(request) -> RequestOrigin:
    meta = request.META
    return RequestOrigin(
        ip_address=_valid_ip(client_address(meta)),
        forwarded_for=meta.get("HTTP_X_FORWARDED_FOR", "")[:MAX_FORWARDED_FOR],
        user_agent=meta.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
        request_id=getattr(request, "request_id", "") or (correlation_id.get() or ""),
    )


def current_origin() -> RequestOrigin:
    """The origin of the request being handled; outside a request (a task, the shell) an empty one."""
    origin = request_origin.get()
    if origin is not None:
        return origin
    return RequestOrigin(
        ip_address=None, forwarded_for="", user_agent="", request_id=correlation_id.get() or ""
    )


def _valid_ip(candidate: str | None) -> str | None:
    if not candidate:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
