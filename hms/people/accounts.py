"""Whether a token's subject is an account, where people are only a read model (grants, finance).

A token the User Service signed for an id it holds no account for (the key leaked, or a test
minted one) must be refused, not served as a caller who owns nothing. The read model knows
almost everyone; a new account's `user.registered` may still be on the bus, so an id it does not
know is asked of the User Service once, with the caller's own token (`GET /users/me` answers 401
for a token naming no account). Ids confirmed are remembered for the process's life (accounts
are never deleted; deactivation is revocation's job, hms.revocation). If the User Service cannot
answer, the caller is let through as before and the next request asks again: an outage of the
User Service must not sign out every new applicant.
"""

import logging
import urllib.error
import urllib.request

from django.conf import settings

from hms import internal_http
from hms.context import current_correlation_id
from hms.people.models import Person

logger = logging.getLogger("hms.people.accounts")

TIMEOUT_SECONDS = 2.0
_CONFIRMED: set[int] = set()
_CONFIRMED_MAX = 100_000


def account_exists(user_id: int, token: str, *, secure: bool = False) -> bool:
    """`secure`: the request being served came over TLS, which the User Service is told (its
    HTTPS redirect would otherwise bounce the internal call, as for the staff sign-in)."""
    if user_id in _CONFIRMED:
        return True
    known = Person.objects.filter(user_id=user_id).exists() or _user_service_knows(token, secure)
    if known is False:
        return False
    if known is True:  # None: no answer, so nothing learnt
        if len(_CONFIRMED) >= _CONFIRMED_MAX:
            _CONFIRMED.clear()
        _CONFIRMED.add(user_id)
    return True


def _user_service_knows(token: str, secure: bool) -> bool | None:
    """True or False as the User Service answers for the token's subject; None if it cannot."""
    url = settings.USERS_SERVICE_URL.rstrip("/") + "/users/me"
    request = urllib.request.Request(  # noqa: S310 - USERS_SERVICE_URL is operator configuration
        url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-Request-ID": current_correlation_id(),
            **({"X-Forwarded-Proto": "https"} if secure else {}),
        },
        method="HEAD",
    )
    try:
        with internal_http.opener.open(request, timeout=TIMEOUT_SECONDS):
            return True
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 401:
            return False
        logger.warning("the User Service answered %s on whether account %s exists", exc.code, url)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        logger.warning("the User Service is unreachable at %s to confirm an account: %s", url, exc)
    return None
