"""The serving deployment: Kubernetes manifests that validate offline and mean what they should,
and a serving image that holds the serving dependencies and nothing more."""

from __future__ import annotations

import copy
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from packaging.utils import canonicalize_name

from phase1_foundations.settings import PROJECT_ROOT
from phase3_serving.config import ServingSettings
from testing.images import (
    build_image,
    docker,
    locked_versions,
    one_build_at_a_time,
    run_in,
)

# Manifests are checked against this Kubernetes release's schemas, bundled with
# kubernetes-validate (no network). Strict: unknown fields, e.g. a misspelt probe, are errors.
K8S_VERSION = "1.33.0"
DEPLOY_DIR = PROJECT_ROOT / "phase3_serving" / "deploy"
K8S_DIR = DEPLOY_DIR / "k8s"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
BUILD_SCRIPT = DEPLOY_DIR / "build-serving-image.sh"

STABLE, CANARY, SERVICE, HPA, CONFIG = (
    ("Deployment", "churn-api"),
    ("Deployment", "churn-api-canary"),
    ("Service", "churn-api"),
    ("HorizontalPodAutoscaler", "churn-api"),
    ("ConfigMap", "churn-api-config"),
)
ALIAS_VAR = "MLOPS_SERVING_MODEL_ALIAS"
TOKEN_VAR = "MLOPS_SERVING_ADMIN_TOKEN"
# The kustomize features the rendering below reproduces; anything else would make it lie.
KUSTOMIZE_KEYS = {"apiVersion", "kind", "resources", "images"}

Manifest = dict[str, Any]


# --- reading the manifests, as `kubectl apply -k` would see them ------------------------------


def read_kustomization() -> Manifest:
    loaded: Manifest = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    return loaded


def read_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def set_image(image: str, rule: Manifest) -> str:
    """kustomize's `images` transformer for one container image."""
    name, _, tag = image.partition(":")
    if name != rule["name"]:
        return image
    return f"{rule.get('newName', name)}:{rule.get('newTag', tag)}"


def render() -> dict[tuple[str, str], Manifest]:
    """The kustomization's resources with its image rules applied, keyed by (kind, name)."""
    kustomization = read_kustomization()
    rendered: dict[tuple[str, str], Manifest] = {}
    for file in kustomization["resources"]:
        for doc in read_documents(K8S_DIR / file):
            if doc["kind"] == "Deployment":
                for container in pod_spec(doc)["containers"]:
                    for rule in kustomization.get("images", []):
                        container["image"] = set_image(container["image"], rule)
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in rendered, f"{key} is defined twice"
            rendered[key] = doc
    return rendered


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], Manifest]:
    return render()


def pod_spec(deployment: Manifest) -> Manifest:
    spec: Manifest = deployment["spec"]["template"]["spec"]
    return spec


def container_of(deployment: Manifest) -> Manifest:
    containers: list[Manifest] = pod_spec(deployment)["containers"]
    assert len(containers) == 1  # one container per pod: the API
    return containers[0]


def resolve_port(port: int | str, container: Manifest) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert named, f"no container port named {port!r}"
    return int(named[0])


def effective_env(deployment: Manifest, k8s: dict[tuple[str, str], Manifest]) -> dict[str, Any]:
    """The container's environment: ConfigMaps from envFrom, then env (which wins, as in k8s)."""
    container = container_of(deployment)
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(k8s[("ConfigMap", source["configMapRef"]["name"])]["data"])
    for var in container.get("env", []):
        env[var["name"]] = var.get("value", var.get("valueFrom"))
    return env


def dockerfile_instruction(keyword: str) -> str:
    """The arguments of the last `keyword` instruction in the serving Dockerfile."""
    found = re.findall(rf"^{keyword}\s+(.+)$", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert found, f"no {keyword} in {DOCKERFILE}"
    return str(found[-1]).strip()


def dockerfile_env() -> dict[str, str]:
    """The ENV the serving image sets (KEY=value pairs, continued lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    pairs = re.findall(r"^ENV\s+(.+)$", text, flags=re.MULTILINE)
    return dict(re.findall(r"(\w+)=(\S+)", " ".join(pairs)))


def project_version() -> str:
    found = re.search(r'^version = "(.+)"$', (PROJECT_ROOT / "pyproject.toml").read_text(), re.M)
    assert found
    return found.group(1)


# --- the manifests ----------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    kustomization = read_kustomization()
    on_disk = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk  # no manifest left out of `apply -k`
    assert set(kustomization) <= KUSTOMIZE_KEYS  # render() here sees what kubectl would


# Every file but kustomization.yaml, which is kustomize's input and not an API object.
@pytest.mark.parametrize(
    "name", sorted(p.name for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
)
def test_manifest_validates_against_the_kubernetes_schema(name: str) -> None:
    documents = read_documents(K8S_DIR / name)
    assert documents, f"{name} holds no resource"
    for doc in documents:
        # Raises on a schema violation, and on a kind or apiVersion this release does not know.
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_both_tracks_run_the_same_pod_but_the_model_alias(
    k8s: dict[tuple[str, str], Manifest],
) -> None:
    stable, canary = copy.deepcopy(pod_spec(k8s[STABLE])), copy.deepcopy(pod_spec(k8s[CANARY]))
    for spec in (stable, canary):
        spec["containers"][0]["env"] = [
            var for var in spec["containers"][0].get("env", []) if var["name"] != ALIAS_VAR
        ]
    assert canary == stable  # probes, resources, security and image cannot drift apart


def test_canary_serves_the_challenger_and_stable_the_champion(
    k8s: dict[tuple[str, str], Manifest],
) -> None:
    assert effective_env(k8s[STABLE], k8s)[ALIAS_VAR] == "champion"
    assert effective_env(k8s[CANARY], k8s)[ALIAS_VAR] == "challenger"  # env overrides envFrom


def test_canary_is_the_minority_of_the_traffic(k8s: dict[tuple[str, str], Manifest]) -> None:
    canary = k8s[CANARY]["spec"]["replicas"]
    stable_min = k8s[HPA]["spec"]["minReplicas"]
    assert canary >= 1  # the canary really gets traffic
    assert canary / (canary + stable_min) <= 1 / 3  # at most a third, even at the HPA's minimum
    assert k8s[STABLE]["spec"]["replicas"] == stable_min  # apply does not undercut the HPA


def test_env_names_are_serving_settings_that_parse(
    k8s: dict[tuple[str, str], Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = ServingSettings.model_fields
    for track in (STABLE, CANARY):
        env = effective_env(k8s[track], k8s)
        for name in env:
            if name != "MLFLOW_TRACKING_URI":
                assert name.startswith("MLOPS_"), name
                # Settings ignore unknown variables, so a misspelt name would pass silently.
                assert name.removeprefix("MLOPS_").lower() in fields, name
        for name, value in env.items():
            monkeypatch.setenv(name, "x" * 32 if name == TOKEN_VAR else str(value))
        settings = ServingSettings()  # the values parse, and the admin token rule is satisfied
        assert settings.serving_model_alias == env[ALIAS_VAR]
        assert str(settings.state_dir) == dockerfile_env()["MLOPS_STATE_DIR"]


def test_admin_token_comes_from_a_secret(k8s: dict[tuple[str, str], Manifest]) -> None:
    assert TOKEN_VAR not in k8s[CONFIG]["data"]  # never in a ConfigMap
    for track in (STABLE, CANARY):
        token = effective_env(k8s[track], k8s)[TOKEN_VAR]
        assert isinstance(token, dict), "the token is a literal value"
        assert token["secretKeyRef"]["name"] == "churn-api-admin"
        assert not token["secretKeyRef"].get("optional", False)  # no token, no pod


def test_probes_hit_the_health_endpoints_on_the_served_port(
    k8s: dict[tuple[str, str], Manifest],
) -> None:
    expose = int(dockerfile_instruction("EXPOSE"))
    cmd = json.loads(dockerfile_instruction("CMD"))
    assert cmd[cmd.index("--port") + 1] == str(expose)  # uvicorn listens where the image says
    for track in (STABLE, CANARY):
        container = container_of(k8s[track])
        for probe, path in [
            ("readinessProbe", "/health/ready"),
            ("livenessProbe", "/health/live"),
            ("startupProbe", "/health/live"),
        ]:
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{track[1]} {probe}"
            assert resolve_port(get["port"], container) == expose, f"{track[1]} {probe}"


def test_service_reaches_both_tracks_and_only_them(k8s: dict[tuple[str, str], Manifest]) -> None:
    selector = k8s[SERVICE]["spec"]["selector"]
    for track in (STABLE, CANARY):
        labels = k8s[track]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"the Service misses {track[1]}"
        for port in k8s[SERVICE]["spec"]["ports"]:
            assert resolve_port(port["targetPort"], container_of(k8s[track])) == 8000
    # Each Deployment owns its own pods: overlapping selectors would fight over them.
    for own, other in [(STABLE, CANARY), (CANARY, STABLE)]:
        match = k8s[own]["spec"]["selector"]["matchLabels"]
        own_labels = k8s[own]["spec"]["template"]["metadata"]["labels"]
        other_labels = k8s[other]["spec"]["template"]["metadata"]["labels"]
        assert match.items() <= own_labels.items()
        assert not match.items() <= other_labels.items()


def test_hpa_scales_the_stable_deployment_on_cpu(k8s: dict[tuple[str, str], Manifest]) -> None:
    spec = k8s[HPA]["spec"]
    target = spec["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", *STABLE)
    assert spec["minReplicas"] < spec["maxReplicas"]
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # CPU utilization is relative to the request: without one the HPA cannot compute it.
    assert container_of(k8s[STABLE])["resources"]["requests"]["cpu"]


def test_containers_have_requests_and_limits(k8s: dict[tuple[str, str], Manifest]) -> None:
    for track in (STABLE, CANARY):
        resources = container_of(k8s[track])["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= resources[kind].keys(), f"{track[1]} {kind}"


def test_pods_run_non_root_on_a_read_only_root(k8s: dict[tuple[str, str], Manifest]) -> None:
    image_uid = int(dockerfile_instruction("USER").split(":")[0])
    state_dir = dockerfile_env()["MLOPS_STATE_DIR"]
    for track in (STABLE, CANARY):
        pod, container = pod_spec(k8s[track]), container_of(k8s[track])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == image_uid != 0  # the image's own user
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"]: v for v in pod["volumes"]}
        writable = {
            m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]
        }
        assert {state_dir, "/tmp"} <= writable  # state and tempfiles still have somewhere to go


def test_images_are_pinned_to_what_the_build_script_tags(
    k8s: dict[tuple[str, str], Manifest],
) -> None:
    # `:latest` would make a rollout unreproducible and a rollback meaningless, and it makes
    # Kubernetes pull on every start; build-serving-image.sh also tags the project version.
    for track in (STABLE, CANARY):
        image = container_of(k8s[track])["image"]
        assert image == f"mlops-path-serving:{project_version()}", image


# --- the image (built for real: Docker, a minute or two with cached wheels) -------------------

TEST_IMAGE = "mlops-path-serving:test"
IMPORTS = ("fastapi", "uvicorn", "prometheus_client", "orjson", "mlflow", "sklearn")
# The pipelines, monitoring and UI stacks, and the full MLflow server (flask, gunicorn).
EXCLUDED = ("dvc", "matplotlib", "streamlit", "evidently", "mlflow", "flask", "gunicorn")


@pytest.fixture(scope="module")
def serving_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Build the image the way `make serving-image` does, under a tag of its own."""
    with one_build_at_a_time(tmp_path_factory):
        return build_image(BUILD_SCRIPT, TEST_IMAGE, VERSION_TAG="")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_serving_image_holds_the_serving_stack_and_nothing_more(serving_image: str) -> None:
    probe = (
        "import importlib, importlib.metadata as m, json, platform\n"
        f"for name in {IMPORTS!r}: importlib.import_module(name)\n"
        "print(json.dumps({'python': platform.python_version(),"
        " 'dists': {d.metadata['Name']: d.version for d in m.distributions()}}))"
    )
    found = json.loads(run_in(serving_image, "python", "-c", probe))  # the imports work
    installed = {canonicalize_name(name): version for name, version in found["dists"].items()}
    for name in EXCLUDED:
        assert name not in installed, f"{name} is in the serving image"
    assert installed["mlflow-skinny"]  # the registry client, without the server
    expected = locked_versions(found["python"], extras=("serving",))
    expected["mlops-path"] = metadata.version("mlops-path")
    assert installed == expected  # exactly the lock's core + serving set, no pip either


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_serving_image_runs_uvicorn_as_non_root_with_a_healthcheck(serving_image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", serving_image))
    assert config["User"].split(":")[0] not in {"", "0", "root"}
    assert run_in(serving_image, "id", "-u") != "0"  # the process really is unprivileged
    check = config["Healthcheck"]["Test"]
    assert check[0] == "CMD"  # exec form: no shell, no curl
    assert "http://127.0.0.1:8000/health/live" in " ".join(check)
    assert config["Cmd"][:2] == ["uvicorn", "phase3_serving.app:app"]
    assert "8000/tcp" in config["ExposedPorts"]
    state = run_in(
        serving_image, "sh", "-c", 'touch "$MLOPS_STATE_DIR/x" && echo "$MLOPS_STATE_DIR"'
    )
    assert state == "/app/var"  # the state directory is there and the app user can write it
