"""`shipyard deploy render` on a real project and registry: the production version's own
requirements go into the image; without a production version the command says what to do."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml
from cli_helpers import Cli
from dockerfile_parse import DockerfileParser

pytestmark = pytest.mark.integration


def test_render_docker_and_kubernetes_for_the_production_version(tiny: Cli) -> None:
    missing = tiny("deploy", "render", "--target", "docker")
    assert missing.returncode == 2
    assert "Register a version first" in missing.stderr and "Traceback" not in missing.stderr

    tiny("schema", "infer", check=0)
    tiny("run", check=0)
    tiny("promote", "1", "--to", "production", check=0)
    tiny("deploy", "render", "--target", "docker", check=0)
    docker = tiny.project / "deploy" / "docker"
    requirements = (docker / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("scikit-learn==") for line in requirements)
    assert not any(line.startswith("shipyard") for line in requirements)
    parser = DockerfileParser(path=str(docker / "Dockerfile"))
    assert "tiny:v1" in parser.content
    assert '"--desired", "state", "--workers", "1"' in parser.content  # one worker per CPU requested

    out = tiny.project / "k8s"
    tiny(
        "deploy", "render", "--target", "kubernetes", "--out", str(out), "--replicas", "3", "--workers", "2",
        check=0,
    )  # fmt: skip
    deployment = yaml.safe_load((out / "deployment.yaml").read_text())
    kubernetes_validate.validate(deployment, "1.30.0", strict=True)
    assert deployment["spec"]["replicas"] == 3
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "tiny:v1" and container["args"][-4:] == [
        "--desired",
        "state",
        "--workers",
        "2",
    ]
    bad = tiny("deploy", "render", "--target", "kubernetes", "--cpu", "lots")
    assert bad.returncode == 2 and "--cpu must be a Kubernetes CPU quantity" in bad.stderr
