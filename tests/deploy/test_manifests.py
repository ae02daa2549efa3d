"""The deployment files, validated offline: Kubernetes core kinds with kubernetes-validate, KubeRay
kinds against KubeRay's CRD schemas (in the folder $GUILDMIND_KUBERAY_SCHEMAS names; that one test
is skipped, saying where to get them, when it is unset), the Ray cluster launcher config
against Ray's own schema, every Prometheus config with promtool, the compose file with
``docker compose config`` when the plugin is there (else parsed and checked structurally), and
every guildmind.toml they ship with guildmind's own configuration loader.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import ray
import yaml

from guildmind.config import parse_config
from tests.fixtures.prometheus import ALERTS, require

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERAY = DEPLOY / "kuberay"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
SCHEMAS_ENV = "GUILDMIND_KUBERAY_SCHEMAS"
KUBERAY_CRDS = (
    "https://raw.githubusercontent.com/ray-project/kuberay/"
    "feeaf72facab4881ba2b179248bb67315634e229/ray-operator/config/crd/bases"
)
HOW_TO_GET_THE_CRDS = (
    f"KubeRay's CRD schemas are not here: download ray.io_rayclusters.yaml and ray.io_rayjobs.yaml "
    f"from {KUBERAY_CRDS}/ into a folder and set {SCHEMAS_ENV} to it (.ci/run sets it to "
    "../shared/schemas/kuberay when that folder exists)."
)
SECRET_WORDS = re.compile(r"(password|token|secret)", re.I)


def manifests() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) of every manifest in deploy/kuberay (not the kustomization)."""
    docs = []
    for path in sorted(KUBERAY.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def by_name() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"] + ("" if d["kind"] != "Service" else "/svc"): d
            for _, d in manifests()}  # fmt: skip


def crd_folder() -> Path:
    """The folder of KubeRay's CRDs, from $GUILDMIND_KUBERAY_SCHEMAS; skips the test without it."""
    value = os.environ.get(SCHEMAS_ENV, "")
    if not value:
        pytest.skip(f"{SCHEMAS_ENV} is not set. {HOW_TO_GET_THE_CRDS}")
    folder = Path(value)
    if not folder.is_dir():
        pytest.skip(f"{SCHEMAS_ENV}={value!r} is not a folder. {HOW_TO_GET_THE_CRDS}")
    return folder


def crd_schema(folder: Path, kind: str, api_version: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    path = folder / f"{group}_{kind.lower()}s.yaml"
    if not path.is_file():
        raise AssertionError(f"{path} is missing from {SCHEMAS_ENV}. {HOW_TO_GET_THE_CRDS}")
    crd = yaml.safe_load(path.read_text())
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise AssertionError(f"no {api_version} in the {kind} CRD")


def test_the_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((KUBERAY / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(
        p.name for p in KUBERAY.glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_core_kinds_are_valid_kubernetes() -> None:
    core = [(f, d) for f, d in manifests() if not d["apiVersion"].startswith("ray.io/")]
    assert {d["kind"] for _, d in core} >= {"ConfigMap", "StatefulSet", "Service", "Deployment"}
    for name, doc in core:
        try:
            kubernetes_validate.validate(doc, "1.33", strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {e.message}")


def test_kuberay_kinds_match_the_crd_schemas() -> None:
    folder = crd_folder()
    ray_docs = [(f, d) for f, d in manifests() if d["apiVersion"].startswith("ray.io/")]
    assert {d["kind"] for _, d in ray_docs} == {"RayCluster", "RayJob"}
    for name, doc in ray_docs:
        schema = crd_schema(folder, doc["kind"], doc["apiVersion"])
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
        assert not errors, f"{name}: " + "; ".join(e.message for e in errors)
        # the CRD schemas accept any pod template: check the containers' shape as Kubernetes would
        spec = doc["spec"]
        groups = (
            [spec["headGroupSpec"], *spec.get("workerGroupSpecs", [])]
            if "headGroupSpec" in (spec)
            else []
        )
        for group in groups:
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                   "spec": group["template"]["spec"]}  # fmt: skip
            kubernetes_validate.validate(pod, "1.33", strict=True)


def test_without_the_crds_only_their_test_skips_and_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCHEMAS_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception) as unset:
        crd_folder()
    reason = str(unset.value)
    assert f"{SCHEMAS_ENV} is not set" in reason
    assert "ray.io_rayclusters.yaml and ray.io_rayjobs.yaml" in reason
    assert "raw.githubusercontent.com/ray-project/kuberay/" in reason and "crd/bases" in reason
    monkeypatch.setenv(SCHEMAS_ENV, str(tmp_path / "absent"))
    with pytest.raises(pytest.skip.Exception, match="is not a folder"):
        crd_folder()
    monkeypatch.setenv(SCHEMAS_ENV, str(tmp_path))  # a folder, but without the files: a failure
    assert crd_folder() == tmp_path
    with pytest.raises(AssertionError, match=r"ray\.io_rayclusters\.yaml is missing"):
        crd_schema(tmp_path, "RayCluster", "ray.io/v1")


def test_the_raycluster_and_rayjob_fit_together() -> None:
    docs = {d["kind"]: d for _, d in manifests()}
    cluster, job = docs["RayCluster"], docs["RayJob"]
    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": cluster["metadata"]["name"]}
    assert cluster["spec"]["rayVersion"] == ray.__version__
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]
    ports = {p["containerPort"] for c in head["containers"] for p in c.get("ports", [])}
    config = tomllib.loads(by_name()["guildmind-config"]["data"]["guildmind.toml"])
    assert config["metrics"]["port"] in ports  # the driver's /sd is reachable on the head svc
    sd = yaml.safe_load(
        next(d for _, d in manifests() if d["metadata"]["name"] == "guildmind-prometheus")["data"][
            "prometheus.yml"
        ]
    )["scrape_configs"][0]["http_sd_configs"][0]["url"]
    assert sd == f"http://{cluster['metadata']['name']}-head-svc:{config['metrics']['port']}/sd"


def test_secrets_only_come_from_secret_references() -> None:
    """No literal password or token anywhere: every such env var is a secretKeyRef."""
    for name, doc in manifests():
        for env in _find(doc, "env"):
            for var in env:
                if SECRET_WORDS.search(var["name"]):
                    assert "secretKeyRef" in var.get("valueFrom", {}), (name, var)
    assert not any(d["kind"] == "Secret" for _, d in manifests())


def _find(obj: Any, key: str):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield v
            yield from _find(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find(v, key)


def shipped_configs() -> dict[str, str]:
    return {
        "deploy/kuberay/config.yaml": by_name()["guildmind-config"]["data"]["guildmind.toml"],
        "deploy/compose/guildmind.toml": (DEPLOY / "compose" / "guildmind.toml").read_text(),
        "deploy/ray/guildmind.toml": (DEPLOY / "ray" / "guildmind.toml").read_text(),
    }


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_every_shipped_guildmind_config_loads(name: str) -> None:
    cfg = parse_config(shipped_configs()[name], file=name, env={})
    assert cfg.metrics.host == "0.0.0.0"  # scrapeable from another machine or pod
    assert cfg.state.url.startswith("redis://") and cfg.state.password_env
    assert cfg.runtime.address == "auto"


def prometheus_configs(tmp_path: Path) -> dict[str, Path]:
    """Every Prometheus config we ship, each written beside a copy of the alert rules."""
    docs = {d["metadata"]["name"]: d for _, d in manifests()}
    texts = {
        "deploy/prometheus/prometheus.yml": (DEPLOY / "prometheus" / "prometheus.yml").read_text(),
        "deploy/compose/prometheus.yml": (DEPLOY / "compose" / "prometheus.yml").read_text(),
        "deploy/kuberay/prometheus.yaml": docs["guildmind-prometheus"]["data"]["prometheus.yml"],
    }
    out = {}
    for i, (name, text) in enumerate(texts.items()):
        folder = tmp_path / str(i)
        folder.mkdir()
        shutil.copy(ALERTS, folder / "alerts.yml")
        (folder / "prometheus.yml").write_text(text)
        out[name] = folder / "prometheus.yml"
    return out


def test_every_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require("promtool")
    for name, path in prometheus_configs(tmp_path).items():
        run = subprocess.run(
            [promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, f"{name}:\n{run.stdout}{run.stderr}"
        assert "1 rules found" in run.stdout or "rules found" in run.stdout, name


def test_the_kuberay_alert_rules_are_metrics_alerts() -> None:
    docs = {d["metadata"]["name"]: d for _, d in manifests()}
    assert docs["guildmind-prometheus"]["data"]["alerts.yml"] == ALERTS.read_text(), (
        "deploy/kuberay/prometheus.yaml's alerts.yml differs from metrics/alerts.yml"
    )


def test_the_ray_cluster_launcher_config_matches_rays_schema() -> None:
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = yaml.safe_load((DEPLOY / "ray" / "cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    for source in config["file_mounts"].values():
        assert (ROOT / source).is_file(), source  # `ray up` runs from the repository root
    assert any("--head" in c for c in config["head_start_ray_commands"])


def _compose_plugin() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    run = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    return run.returncode == 0


def test_the_compose_file(tmp_path: Path) -> None:
    env = {"GUILDMIND_REDIS_PASSWORD": "x" * 16, "GRAFANA_ADMIN_PASSWORD": "y" * 16}
    if _compose_plugin():
        run = subprocess.run(
            ["docker", "compose", "-f", str(COMPOSE), "config", "--format", "json"],
            capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **env},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        compose = json.loads(run.stdout)
    else:  # no compose plugin here: parse it and check what `docker compose config` would
        compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"redis", "ray-head", "ray-worker", "prometheus", "grafana"}
    base = COMPOSE.parent
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("."):
                assert (base / source).exists(), f"{name}: {source} does not exist"
        for port in service.get("ports", []):
            published = port if isinstance(port, str) else port.get("host_ip", "")
            assert str(published).startswith("127.0.0.1"), f"{name} publishes {port} widely"
        env_values = service.get("environment", {})
        for key, value in env_values.items() if isinstance(env_values, dict) else []:
            if SECRET_WORDS.search(key) and value is not None:
                assert str(value).startswith("${") or value in env.values(), (name, key)
    head = " ".join(services["ray-head"]["command"])
    assert "ray start --head" in head and "guildmind run" in head
    assert "--address=ray-head:6379" in " ".join(services["ray-worker"]["command"])
    build = services["ray-head"]["build"]
    context = build if isinstance(build, str) else build["context"]
    assert (base / context / "Dockerfile").is_file() or Path(context, "Dockerfile").is_file()


def test_the_dockerfile_uses_the_pinned_ray_and_python() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.M)
    assert base is not None
    assert base.group(1) == f"rayproject/ray:{ray.__version__}-py311"
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"ray=={ray.__version__}" in pins
    for folder in ("engine", "actions", "actors", "metrics", "guildmind", "plugins"):
        assert f"COPY --chown=ray:users {folder} ./{folder}" in dockerfile, folder


def test_the_guides_ship_pip_example_pins_what_the_workers_import() -> None:
    """docs/deploy.md's `runtime.ship_pip` (for nodes without guildmind) loads, and names the
    versions pyproject.toml pins for every dependency but Ray (on the nodes already) and the
    driver-only ones (the demo's terminal view, the simulation's charts)."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", guide, re.S)
    shipped = parse_config(block, env={}).runtime.ship_pip
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    driver_only = ("ray==", "rich==", "matplotlib==")
    assert sorted(shipped) == sorted(d for d in pinned if not d.startswith(driver_only))
