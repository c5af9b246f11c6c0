"""How people read on staff pages (hms.people): by name, never a bare id."""

from hms.identity import ROLE_SERVICE

SERVICE_NAMES = {
    "users": "User Service",
    "grants": "Grants Service",
    "finance": "Finance Service",
}


def person_label(user_id: int | None, name: str | None) -> str:
    """How a person reads on a page: "Ada Lovelace (#4)", or their id until the User Service's
    event has arrived ("User #4")."""
    if not user_id:
        return "-"
    return f"{name} (#{user_id})" if name else f"User #{user_id}"


def actor_label(role: str, user_id: int | None, name: str | None, service: str = "") -> str:
    """Who did something: a person by name, a service by its own name ("Finance Service")."""
    if role == ROLE_SERVICE:
        return SERVICE_NAMES.get(service, "A platform service")
    return person_label(user_id, name)
