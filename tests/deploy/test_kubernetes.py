"""The Kubernetes manifests (docs/deploy/kubernetes), rendered with kustomize and checked offline: every
object against the Kubernetes API's schemas, then the rules docs/deployment.md promises."""

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "docs" / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.37.0"  # the newest release whose schemas kubernetes-validate carries
WORKLOADS = ("Deployment", "StatefulSet", "Job")
DATA_SERVICES = ("users", "grants", "finance")
# Variables a process sets for itself, not configuration an operator chooses.
PROCESS_VARIABLES = {"DJANGO_SETTINGS_MODULE"}


def render(overlay: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the manifests cannot be rendered here")
    version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True)
    if not re.search(r"Kustomize Version: v5", version.stdout):
        pytest.skip(f"kubectl's kustomize is older than v5: {version.stdout.strip()}")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


@pytest.fixture(scope="module")
def platform_objects() -> list[dict]:
    return render(KUBERNETES / "overlays" / "example")


@pytest.fixture(scope="module")
def migration_objects() -> list[dict]:
    return render(KUBERNETES / "overlays" / "example" / "migrations")


def of_kind(objects: list[dict], *kinds: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] in kinds]


def named(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def test_every_object_validates_against_the_kubernetes_schemas(platform_objects, migration_objects):
    for obj in platform_objects + migration_objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    kinds = {obj["kind"] for obj in platform_objects}
    assert {
        "Deployment",
        "StatefulSet",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
        "Ingress",
    } <= kinds
    assert {named(job) for job in of_kind(migration_objects, "Job")} == {
        f"Job/{service}-migrate" for service in DATA_SERVICES
    }


def test_the_schema_check_refuses_a_wrong_manifest(platform_objects):
    broken = yaml.safe_load(yaml.safe_dump(of_kind(platform_objects, "Deployment")[0]))
    broken["spec"]["replicas"] = "two"

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_process_of_every_service_is_deployed(platform_objects):
    workloads = {named(obj) for obj in of_kind(platform_objects, "Deployment", "StatefulSet")}

    expected = {"Deployment/gateway", "Deployment/finance-beat"}
    for service in DATA_SERVICES:
        expected |= {
            f"Deployment/{service}-web",
            f"StatefulSet/{service}-worker",
            f"Deployment/{service}-relay",
        }
    assert workloads == expected


def test_every_deployment_runs_at_least_two_replicas(platform_objects):
    """Web servers, gateways, relays and the beat are safe twice (tests/e2e/test_replicas.py,
    the beat's leader lock), so none is a single point of failure; the workers' count is
    their partitions' business (BUS_WORKERS)."""
    single = [
        named(deployment)
        for deployment in of_kind(platform_objects, "Deployment")
        if deployment["spec"].get("replicas", 1) < 2
    ]
    assert single == []


def test_every_container_has_probes_limits_and_a_locked_down_security_context(
    platform_objects, migration_objects
):
    for workload in of_kind(platform_objects + migration_objects, *WORKLOADS):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, named(workload)
        assert pod["automountServiceAccountToken"] is False, named(workload)
        for container in pod["containers"]:
            where = f"{named(workload)} {container['name']}"
            if workload["kind"] != "Job":  # a Job runs to completion: nothing to probe
                assert {"readinessProbe", "livenessProbe"} <= set(container), where
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), where
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, where  # the one writable place (metrics, heartbeat)


def serves_http(container: dict) -> bool:
    """A web server or the gateway (a bus worker's only port is its metrics')."""
    return any(port["name"] == "http" for port in container.get("ports", []))


def test_servers_are_probed_on_health_and_the_rest_by_their_heartbeat(platform_objects):
    for workload in of_kind(platform_objects, "Deployment", "StatefulSet"):
        for container in containers(workload):
            ready, alive = container["readinessProbe"], container["livenessProbe"]
            if serves_http(container):
                assert ready["httpGet"]["path"] == "/health/ready", named(workload)
                assert alive["httpGet"]["path"] == "/health", named(workload)
                # Django answers only the hosts it knows: the probe names one.
                host = ready["httpGet"]["httpHeaders"][0]["value"]
                assert host in config(platform_objects)["ALLOWED_HOSTS"].split(",")
            else:
                command = alive["exec"]["command"]
                assert command[:3] == ["python", "-m", "hms.deploy.heartbeat"], named(workload)
                variables = {item["name"] for item in container["env"]}
                assert "HMS_HEARTBEAT_FILE" in variables, named(workload)


def test_rolling_updates_never_take_a_serving_pod_away_first(platform_objects):
    for deployment in of_kind(platform_objects, "Deployment"):
        strategy = deployment["spec"]["strategy"]
        assert strategy["type"] == "RollingUpdate", named(deployment)
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, named(deployment)


def test_servers_have_a_disruption_budget_and_scale_on_cpu(platform_objects):
    servers = [
        deployment
        for deployment in of_kind(platform_objects, "Deployment")
        if any(serves_http(container) for container in containers(deployment))
    ]
    budgets = of_kind(platform_objects, "PodDisruptionBudget")
    scalers = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa
        for hpa in of_kind(platform_objects, "HorizontalPodAutoscaler")
    }
    assert {named(server) for server in servers} == {"Deployment/gateway"} | {
        f"Deployment/{service}-web" for service in DATA_SERVICES
    }
    for server in servers:
        labels = server["spec"]["template"]["metadata"]["labels"]
        assert any(
            budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
            and budget["spec"]["minAvailable"] >= 1
            for budget in budgets
        ), named(server)
        scaler = scalers[server["metadata"]["name"]]
        assert scaler["spec"]["minReplicas"] >= 2
        assert scaler["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_bus_workers_are_as_many_as_the_partitions_are_shared_between(platform_objects):
    # Worker i of n consumes its share of the partitions (hms.bus.partitions): a StatefulSet gives
    # each pod its stable index, and BUS_WORKERS must be the number of pods, or some partitions
    # would have no consumer. No autoscaler may change it behind BUS_WORKERS's back.
    scaled = {
        hpa["spec"]["scaleTargetRef"]["name"]
        for hpa in of_kind(platform_objects, "HorizontalPodAutoscaler")
    }
    for workers in of_kind(platform_objects, "StatefulSet"):
        [container] = containers(workers)
        variables = {item["name"]: item.get("value") for item in container["env"]}
        assert int(variables["BUS_WORKERS"]) == workers["spec"]["replicas"], named(workers)
        assert "${HOSTNAME##*-}" in container["command"][-1]
        assert workers["metadata"]["name"] not in scaled


def test_no_data_service_is_reachable_from_outside_the_cluster(platform_objects):
    for service in of_kind(platform_objects, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", named(service)
    [ingress] = of_kind(platform_objects, "Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]["name"]
            if backend != "gateway":  # a data service: only its staff admin and its files
                assert backend in DATA_SERVICES
                assert path["path"] in ("/admin", "/static"), (rule["host"], path["path"])


def test_network_policies_deny_by_default_and_keep_each_database_to_its_service(platform_objects):
    policies = {
        p["metadata"]["name"]: p["spec"] for p in of_kind(platform_objects, "NetworkPolicy")
    }
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for service in DATA_SERVICES:
        database = policies[f"{service}-database-from-{service}-only"]
        assert database["podSelector"]["matchLabels"] == {"cnpg.io/cluster": f"hms-{service}-db"}
        [from_pods] = [
            peer["podSelector"]["matchLabels"]
            for rule in database["ingress"]
            for peer in rule["from"]
            if "podSelector" in peer
        ]
        assert from_pods == {"hms.gov/service": service}


def config(objects: list[dict]) -> dict[str, str]:
    [config_map] = [
        obj for obj in of_kind(objects, "ConfigMap") if obj["metadata"]["name"] == "hms-config"
    ]
    return config_map["data"]


def test_the_environment_set_is_the_one_env_example_documents(platform_objects):
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.M)
    )
    documented |= {f"{service.upper()}_DATABASE_URL" for service in DATA_SERVICES}
    set_here = set(config(platform_objects))
    for secret in of_kind(platform_objects, "Secret"):
        if secret["metadata"]["name"] != "hms-users-signing-keys":
            set_here |= set(secret["data"])
    for workload in of_kind(platform_objects, *WORKLOADS):
        for container in containers(workload):
            set_here |= {item["name"] for item in container["env"]}
    assert set_here - documented - PROCESS_VARIABLES == set()


def test_each_service_reads_only_its_own_secrets(platform_objects):
    for workload in of_kind(platform_objects, *WORKLOADS):
        service = workload["spec"]["template"]["metadata"]["labels"]["hms.gov/service"]
        for container in containers(workload):
            secrets = {
                source["secretRef"]["name"]
                for source in container["envFrom"]
                if "secretRef" in source
            }
            assert secrets == {f"hms-{service}-secrets"}, named(workload)
            mounted = {
                volume["secret"]["secretName"]
                for volume in workload["spec"]["template"]["spec"]["volumes"]
                if "secret" in volume
            }
            # Only the User Service's web process signs tokens; every other process reads the
            # public keys from its JWKS (hms.jwks), so it mounts no key at all.
            expected = (
                {"hms-users-signing-keys"} if named(workload) == "Deployment/users-web" else set()
            )
            assert mounted == expected, named(workload)


def test_the_image_runs_as_the_user_the_manifests_expect():
    containerfile = (REPO / "docs" / "deploy" / "Containerfile").read_text()

    assert re.search(r"^USER 10001:10001$", containerfile, re.M)
    assert "pip install -r requirements-runtime.txt" in containerfile  # no test tooling
    assert "collectstatic" in containerfile


def test_each_bus_worker_serves_its_metrics_to_prometheus_only(platform_objects):
    """Events are applied in the workers, so each answers /metrics itself
    (hms/deploy/worker_metrics.py), on the port the monitoring namespace alone may reach."""
    workers = [
        statefulset
        for statefulset in of_kind(platform_objects, "StatefulSet")
        if statefulset["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        == "worker"
    ]
    assert {named(worker) for worker in workers} == {
        f"StatefulSet/{service}-worker" for service in DATA_SERVICES
    }
    for worker in workers:
        (container,) = containers(worker)
        (port,) = container["ports"]
        variables = {item["name"]: item.get("value") for item in container["env"]}
        assert variables["WORKER_METRICS_PORT"] == str(port["containerPort"]), named(worker)
        allowed = [
            policy
            for policy in of_kind(platform_objects, "NetworkPolicy")
            if policy["spec"]["podSelector"]
            .get("matchLabels", {})
            .get("app.kubernetes.io/component")
            == "worker"
        ]
        assert [rule["ports"] for policy in allowed for rule in policy["spec"]["ingress"]] == [
            [{"port": port["containerPort"]}]
        ], named(worker)
        sources = [rule["from"] for policy in allowed for rule in policy["spec"]["ingress"]]
        assert sources == [
            [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
        ]
