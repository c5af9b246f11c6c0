"""The catalogue of problem types: what each `code` (and `type`, /problems/<code>) in an error
answer means, for the people who write clients (hms.errors.PROBLEM_TYPES)."""

from django.http import HttpRequest, JsonResponse

from hms.errors import PROBLEM_TYPES, problem_response


def _entry(code: str) -> dict:
    title, description = PROBLEM_TYPES[code]
    return {"type": f"/problems/{code}", "code": code, "title": title, "description": description}


async def catalogue(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"problems": [_entry(code) for code in PROBLEM_TYPES]})


async def problem_type(request: HttpRequest, code: str) -> JsonResponse:
    if code not in PROBLEM_TYPES:
        return problem_response(request, 404, "not_found", f"No problem type {code!r}.")
    return JsonResponse(_entry(code))
