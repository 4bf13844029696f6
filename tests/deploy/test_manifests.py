"""The Kubernetes manifests: rendered by kustomize, valid against the Kubernetes
OpenAPI schemas, and following the rules the workers need to run safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import ROOT, render, run, tool
from workers import stage_table
from workers.pipeline import stage_spec
from workers.settings import Settings

LAYOUTS = ["deploy/base", "deploy/overlays/example"]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_manifests_are_valid_kubernetes_objects(layout: str, tmp_path: Path) -> None:
    objects = render(layout)
    core = [o for o in objects if not o["apiVersion"].startswith("keda.sh/")]
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(core))
    out = run(tool("kubernetes-validate"), "--strict", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("passed for resource") == len(core)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_stage_runs_hardened_probed_and_sized(layout: str) -> None:
    objects = render(layout)
    settings = by_kind(objects, "ConfigMap")["enrich-settings"]["data"]
    deployments = by_kind(objects, "Deployment")
    budgets = by_kind(objects, "PodDisruptionBudget")
    assert set(deployments) == {"enrich-cleaner", "enrich-tagger", "enrich-summarizer"}
    stages = set()
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        [container] = pod["containers"]
        stage = container["args"][container["args"].index("--stages") + 1]
        stages.add(stage)
        assert pod["securityContext"]["runAsNonRoot"] is True
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert pod["terminationGracePeriodSeconds"] > float(settings["ENRICH_STOP_TIMEOUT_S"])
        port = int(settings["ENRICH_HTTP_PORT"])
        assert container["ports"][0]["containerPort"] == port
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][kind]), name
        assert {"configMapRef": {"name": "enrich-settings"}} in container["envFrom"]
        assert pod["topologySpreadConstraints"]
        selector = dep["spec"]["selector"]["matchLabels"]
        assert budgets[name]["spec"]["selector"]["matchLabels"] == selector
    assert stages == set(stage_table.names())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_keda_scales_each_stage_on_its_own_group_and_source(layout: str) -> None:
    objects = render(layout)
    data = by_kind(objects, "ConfigMap")["enrich-settings"]["data"]
    settings = Settings.model_validate(
        {k.removeprefix("ENRICH_").lower(): v for k, v in data.items() if "FILE" not in k}
        | {"security_protocol": "PLAINTEXT"}
    )
    deployments = by_kind(objects, "Deployment")
    auths = by_kind(objects, "TriggerAuthentication")
    secrets = by_kind(objects, "Secret")
    scaled = by_kind(objects, "ScaledObject")
    assert len(scaled) == len(deployments)
    for so in scaled.values():
        spec = so["spec"]
        dep = deployments[spec["scaleTargetRef"]["name"]]
        args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        stage = args[args.index("--stages") + 1]
        worker = settings.model_copy(update={"stages": stage})
        [trigger] = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        # the group the worker joins and the topic it reads, as the code computes them
        assert meta["consumerGroup"] == worker.app_id
        assert meta["topic"] == settings.topics[stage_spec(stage).source]
        assert meta["bootstrapServers"] == data["ENRICH_BROKER"]
        assert int(meta["lagThreshold"]) > 0
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= settings.partitions
        if "authenticationRef" in trigger:
            auth = auths[trigger["authenticationRef"]["name"]]
            for ref in auth["spec"]["secretTargetRef"]:
                assert ref["key"] in secrets[ref["name"]]["stringData"], ref


def test_the_topics_job_and_the_example_secret_files() -> None:
    objects = render("deploy/overlays/example")
    job = by_kind(objects, "Job")["enrich-topics"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["topics", "create"]
    data = by_kind(objects, "ConfigMap")["enrich-settings"]["data"]
    secret = by_kind(objects, "Secret")["enrich-kafka-auth"]["stringData"]
    for setting in ("ENRICH_SASL_PASSWORD_FILE", "ENRICH_SSL_CAFILE"):
        path = Path(data[setting])
        assert path.parent == Path("/etc/enrich/kafka") and path.name in secret
    for dep in by_kind(objects, "Deployment").values():
        mounts = dep["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {"name": "kafka-auth", "mountPath": "/etc/enrich/kafka", "readOnly": True} in mounts


def test_readme_shows_the_render_command() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    assert "kubectl apply -k deploy/overlays/example" in text


def test_each_lag_threshold_is_its_stage_s_documented_rate_times_30_seconds() -> None:
    """The thresholds, the manifests' comments and docs/deployment.md's table say the
    same rates: they drifted apart once (a threshold set for 15 HTML pages/s while
    the docs measured 35)."""
    import re

    docs = (Path(__file__).parents[2] / "docs" / "deployment.md").read_text("utf-8")
    rates = {
        row[0]: float(row[1])
        for row in re.findall(r"^\| (clean|tag|summarize) \| ([\d.]+) articles/s", docs, re.M)
    }
    html = re.search(r"^\| clean \|.*~(\d+)/s on HTML pages", docs, re.M)
    assert html is not None and set(rates) == {"clean", "tag", "summarize"}
    rates["clean"] = float(html.group(1))  # the costlier input sets the cleaner's
    scaled = by_kind(render(LAYOUTS[0]), "ScaledObject")
    deployments = by_kind(render(LAYOUTS[0]), "Deployment")
    for so in scaled.values():
        dep = deployments[so["spec"]["scaleTargetRef"]["name"]]
        args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        stage = args[args.index("--stages") + 1]
        threshold = int(so["spec"]["triggers"][0]["metadata"]["lagThreshold"])
        assert abs(threshold - rates[stage] * 30) <= 0.1 * rates[stage] * 30, (stage, threshold)
    comments = (Path(__file__).parents[2] / "deploy" / "base" / "scaledobjects.yaml").read_text()
    for stage, name in (("clean", "cleaner"), ("tag", "tagger"), ("summarize", "summarizer")):
        line = re.search(rf"#\s+{name}\s+~([\d.]+) articles/s", comments)
        assert line is not None and float(line.group(1)) == rates[stage], name


def test_each_manifest_s_measured_figures_are_the_docs_table_s() -> None:
    """Cores, rate, RSS ready and peak, and the requests and limits, in each stage's
    manifest comment and resources, are the row of docs/deployment.md's table (one
    source, bench/stages.py's figures): the comments once said 112 / 10.7 / 211
    articles/s while the docs said 130 / 9.6 / 267."""
    import re

    root = Path(__file__).parents[2]
    docs = (root / "docs" / "deployment.md").read_text("utf-8")
    rows = {
        m[0]: m[1:]
        for m in re.findall(
            r"^\| (clean|tag|summarize) \| ([\d.]+) articles/s[^|]*\| ([\d.]+) core \| "
            r"(\d+) MiB \| \d+ MiB \| (\d+) MiB \| ([^|]+) \| ([^|]+) \|",
            docs,
            re.M,
        )
    }
    assert set(rows) == {"clean", "tag", "summarize"}, rows
    for stage, name in (("clean", "cleaner"), ("tag", "tagger"), ("summarize", "summarizer")):
        rate, cores, ready, peak, requests, limits = rows[stage]
        text = (root / "deploy" / "base" / f"{name}.yaml").read_text("utf-8")
        comment = " ".join(
            line.strip().lstrip("#").strip()
            for line in text.splitlines()
            if line.strip().startswith("#")
        )
        assert f"{cores} core at full load" in comment, name
        assert f"{rate} articles/s" in comment, name
        assert f"RSS {ready} MiB ready, peak {peak} MiB" in comment, name
        for kind, cell in (("requests", requests), ("limits", limits)):
            cpu, memory = (p.strip() for p in cell.split(","))
            cpu = cpu.removesuffix(" CPU")  # "1 CPU" in the table is 1 in the manifest
            found = re.search(rf'{kind}: {{cpu: "?{re.escape(cpu)}"?, memory: {memory}}}', text)
            assert found, (name, kind, cell)
