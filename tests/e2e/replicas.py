"""The platform with two replicas of every process, behind nginx (issue 20's topology).

Two gateways, two web servers per data service, two bus workers and two outbox relays per
service, two finance beats (one leads); one nginx balances each tier (the front, in front of the gateways, and
one per data service, which the gateways and the services call). Every replica runs as its own
process on 127.0.0.1 with a port of its own: separate processes crossing the loopback network,
not separate network namespaces (the state they share is in PostgreSQL and Redis either way).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.e2e.harness import DATA_SERVICES, Platform, free_port
from tests.e2e.nginx import LoadBalancer

REPLICAS = 2
TIERS = (*DATA_SERVICES, "gateway")


def replica_names(tier: str) -> list[str]:
    """`users-1`, `users-2`: the web replicas of a tier (the tier's own name is its balancer)."""
    return [f"{tier}-{index}" for index in range(1, REPLICAS + 1)]


@dataclass
class ReplicatedPlatform(Platform):
    """`url(tier)` is the tier's balancer, `url("users-1")` one replica."""

    balancer: LoadBalancer | None = field(default=None, repr=False)

    def prepare(self) -> None:
        super().prepare()  # the tiers' ports (what every URL names) become the balancer's
        for tier in TIERS:
            for name in replica_names(tier):
                self.ports[name] = free_port()

    def admin_urls(self, service: str) -> list[str]:
        return [self.url(service), *(self.url(name) for name in replica_names(service))]

    def define_processes(self) -> None:
        for service in DATA_SERVICES:
            for name in replica_names(service):
                env = self.service_env(service)
                env["BIND"] = f"127.0.0.1:{self.ports[name]}"
                self._define(name, self.web_argv(), env)
            self._define_workers(service, REPLICAS)
            for index in range(1, REPLICAS + 1):
                self._define(
                    f"{service}-relay-{index}", self.relay_argv(), self.service_env(service)
                )
        for name in replica_names("gateway"):
            env = self.service_env("gateway")
            env.update({"HOST": "127.0.0.1", "PORT": str(self.ports[name])})
            self._define(name, self.gateway_argv(), env)
        for index in range(1, REPLICAS + 1):  # one leads, the other stands by
            self.define_beat(f"finance-beat-{index}")

    def start_all(self) -> None:
        tiers = {
            tier: [f"127.0.0.1:{self.ports[name]}" for name in replica_names(tier)]
            for tier in TIERS
        }
        ports = {tier: self.ports[tier] for tier in TIERS}
        self.balancer = LoadBalancer(self.root / "nginx", tiers, ports).__enter__()
        super().start_all()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.balancer is not None:
                self.balancer.__exit__()
