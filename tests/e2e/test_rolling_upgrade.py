"""Ops upgrade one service while the others keep serving: stop grants, migrate it, start it."""

import threading
import time

from tests.e2e.api import Gateway
from tests.e2e.harness import wait_until
from tests.e2e.test_workflow import register_business

GRANTS_PROCESSES = ("grants", "grants-worker", "grants-relay")


class SteadyTraffic(threading.Thread):
    """Reads through the gateway from each service in a loop, recording every answer."""

    def __init__(self, gateway: Gateway, token: str):
        super().__init__(daemon=True)
        self.gateway, self.token = gateway, token
        self.answers: list[tuple[str, int, dict | list | None]] = []
        self.stopping = threading.Event()

    def run(self):
        paths = {
            "users": "/api/v1/users/me",
            "finance": "/api/v1/finance/awards",
            "grants": "/api/v1/grants/applications",
        }
        while not self.stopping.is_set():
            for service, path in paths.items():
                answer = self.gateway.get(path, token=self.token, timeout=10)
                self.answers.append((service, answer.status, answer.body))
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.join(30)


def applicant_known_to_grants(platform, user_id: int) -> bool:
    printed = platform.shell(
        "grants",
        f"from apps.grants.models import Applicant\nprint(Applicant.objects.filter(user_id={user_id}).exists())",
    )
    return printed.splitlines()[-1] == "True"


def test_grants_is_stopped_migrated_and_restarted_while_users_and_finance_keep_serving(platform):
    gateway = Gateway(platform)
    _, token = register_business(gateway)
    traffic = SteadyTraffic(gateway, token)
    traffic.start()
    try:
        wait_until(lambda: len(traffic.answers) >= 15, timeout=30)
        for process in GRANTS_PROCESSES:
            platform.stop(process)
        migrated = platform.manage("grants", "migrate", "--no-input")
        assert migrated.returncode == 0, migrated.stderr
        # Published while grants is down: waits in grants' queue.
        registered_meanwhile, _ = register_business(gateway)
        down_answers = len(traffic.answers)
        wait_until(lambda: len(traffic.answers) >= down_answers + 15, timeout=30)
        for process in GRANTS_PROCESSES:
            platform.start(process)
        restarted = len(traffic.answers)
        wait_until(lambda: len(traffic.answers) >= restarted + 15, timeout=30)
    finally:
        traffic.stop()
        for process in GRANTS_PROCESSES:
            platform.start(process)

    by_service = {
        service: [(s, b) for name, s, b in traffic.answers if name == service]
        for service in ("users", "finance", "grants")
    }
    assert by_service["users"] and all(status == 200 for status, _ in by_service["users"])
    assert by_service["finance"] and all(status == 200 for status, _ in by_service["finance"])
    grants_failures = [(status, body) for status, body in by_service["grants"] if status != 200]
    assert grants_failures, "the traffic never saw grants down"
    for status, body in grants_failures:
        assert status in (502, 503, 504), (status, body)
        assert body["service"] == "grants", body
    # Serving again once the gateway's breaker lets a trial call through.
    assert wait_until(
        lambda: gateway.get("/api/v1/grants/applications", token=token).status == 200, timeout=30
    )
    assert wait_until(lambda: applicant_known_to_grants(platform, registered_meanwhile), timeout=60)
