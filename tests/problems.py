"""Reading the problem documents (RFC 9457, hms.errors) that every error answer is."""

PROBLEM_CONTENT_TYPE = "application/problem+json"
MEMBERS = {"type", "title", "status", "detail", "instance", "code", "errors"}


def problem(response) -> dict:
    """The answer's problem document; the test fails unless it is a well-formed one."""
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith(PROBLEM_CONTENT_TYPE), (content_type, response.content[:300])
    document = response.json()
    assert set(document) >= MEMBERS, document
    assert document["status"] == response.status_code, document
    assert document["type"] == f"/problems/{document['code']}", document
    return document


def fields(response) -> dict:
    """Its field errors as {field: [messages]} (None for the request as a whole)."""
    found: dict = {}
    for error in problem(response)["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found
