"""GET /status?user=<id>: one document from three services, asked at the same time.

The profile (users) and the applications (grants) are required: if either service fails, the
answer is a fast 503 naming it (the other calls are cancelled, nothing waits for them). The award
balances (finance) are optional: if finance is down, slow or its breaker is open, the answer is
still 200, with "degraded": ["finance"] and no awards. So the latency is that of the slowest
backend, not the sum.
"""

import asyncio

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from gateway import edge
from gateway.backends import BackendResponse, BackendUnavailable, call_backend
from gateway.proxy import backend_headers
from hms.errors import PROBLEM_CONTENT_TYPE, field_errors, instance_of, problem_response
from hms.limits import MAX_ID

REQUIRED = ("users", "grants")
OPTIONAL = ("finance",)


def _user_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("user")
    if raw is None:
        return request.caller.user_id
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None


def _awards(answer: BackendResponse) -> list | None:
    """The awards of a finance answer (paginated {"results": [...]} or a plain list), or None."""
    try:
        body = answer.json()
    except ValueError:
        return None
    awards = body.get("results") if isinstance(body, dict) else body
    return awards if isinstance(awards, list) else None


def _usable(answer: BackendResponse) -> bool:
    return answer.status == 200 and _awards(answer) is not None


async def status_view(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        return problem_response(
            request,
            405,
            "method_not_allowed",
            f'Method "{request.method}" not allowed.',
            headers={"Allow": "GET, HEAD"},
        )
    rejection = await edge.admit(request, group="status", public=False)
    if rejection is not None:
        return rejection
    user_id = _user_param(request)
    if user_id is None:
        return problem_response(
            request,
            400,
            "invalid",
            "Please correct: user.",
            errors=field_errors({"user": "A valid user id (a positive integer) is required."}),
        )
    headers = backend_headers(request)
    headers.pop("Content-Type", None)
    calls = {
        "users": call_backend("users", "GET", f"/users/{user_id}", headers=headers),
        "grants": call_backend(
            "grants", "GET", "/grants", query=f"user={user_id}", headers=headers
        ),
        "finance": call_backend(
            "finance",
            "GET",
            "/finance/awards",
            query=f"applicant={user_id}&page_size=100",
            headers=headers,
            read_timeout=settings.GATEWAY_STATUS_OPTIONAL_TIMEOUT,
        ),
    }
    tasks = {asyncio.ensure_future(call): name for name, call in calls.items()}
    answers: dict[str, BackendResponse] = {}
    degraded: list[str] = []
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                name = tasks[task]
                try:
                    answer = task.result()
                except BackendUnavailable as exc:
                    if name in OPTIONAL:
                        degraded.append(name)
                        continue
                    return exc.as_response(request, status=503)
                if name in REQUIRED and answer.status != 200:
                    return _passed_on(request, answer)
                if name in OPTIONAL and not _usable(answer):
                    degraded.append(name)
                    continue
                answers[name] = answer
    finally:
        for task in tasks:
            task.cancel()
    try:
        document = {
            "user": answers["users"].json(),
            "applications": answers["grants"].json().get("applications", []),
            "awards": _awards(answers["finance"]) if "finance" in answers else [],
            "degraded": sorted(degraded),
        }
    except (ValueError, AttributeError):
        return problem_response(
            request, 502, "bad_gateway", "A service answered with an unexpected document."
        )
    return JsonResponse(document)


def _passed_on(request: HttpRequest, answer: BackendResponse) -> JsonResponse:
    """A required service refused (404 someone else's user, 401, 403...): its answer, as it is;
    a 5xx becomes a 503 naming the service."""
    if answer.status >= 500:
        return BackendUnavailable(
            answer.service,
            503,
            "service_unavailable",
            f"The {answer.service} service failed ({answer.status}).",
        ).as_response(request)
    if answer.headers.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
        document = answer.json()
        document["instance"] = instance_of(request)  # what the client asked for: /status
        return JsonResponse(document, status=answer.status, content_type=PROBLEM_CONTENT_TYPE)
    return problem_response(
        request, answer.status, "bad_gateway", f"The {answer.service} service refused the request."
    )
