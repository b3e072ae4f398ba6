"""The live `latency_ratio` rule on a real server: a same-cost canary at 10% of the traffic is
not judged slower, a canary doing three times the work is.

Versions 1 and 2 run the same model code (a logistic regression plus a fixed amount of
pure-Python work per call, the kind that holds the interpreter); the server's environment sets
how many times that work each version does. Both routes' calls are judged from the prediction
log by the controller's own `analyse`, so only ratios between routes measured alike are
compared, never absolute times (the machine may be busy).
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cli_helpers import Cli, write_tiny_project
from serve_helpers import Server, record

from shipyard.config.policy import GateConfig
from shipyard.core.results import CheckResult, Status
from shipyard.delivery.analysis import LiveWindow, analyse
from shipyard.gates.live import LatencyRatioGate
from shipyard.serving import predlog

pytestmark = pytest.mark.integration

MODEL = """\
import os

import pandas as pd
from sklearn.linear_model import LogisticRegression


class Work:
    \"\"\"A fitted model that also runs LIVE_WORK_<tag> x 200,000 loop iterations per call.\"\"\"

    def __init__(self, model, tag):
        self.model, self.tag = model, tag
        self.classes_ = model.classes_

    def _work(self):
        total = 0
        for i in range(int(float(os.environ.get(f"LIVE_WORK_{self.tag}", "1")) * 200_000)):
            total += i
        return total

    def predict(self, X):
        self._work()
        return self.model.predict(X)

    def predict_proba(self, X):
        self._work()
        return self.model.predict_proba(X)


def features(df):
    return pd.DataFrame({"x1": df.x1, "x2": df.x2, "g": (df.color == "g").astype(int)})


def train(X, y, params):
    return Work(LogisticRegression(C=params["C"]).fit(X, y), params["tag"])
"""
POLICY = """\
evaluation: {latency_samples: 10, warmup: 0}
model_format: {trusted_types: [model.Work]}
"""
MAX_RATIO = 1.5
CANARY_CALLS = 120  # canary responses to collect (each a model call of 1-2 rows at 10%)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions 1 (tag p, production) and 2 (tag c, the canary) of the same model code."""
    root = write_tiny_project(tmp_path_factory.mktemp("live") / "tiny", model_py=MODEL, extra_yaml=POLICY)
    cli = Cli(root)
    cli("schema", "infer", check=0)
    policy = (root / "shipyard.yaml").read_text()
    for tag in ("p", "c"):
        (root / "shipyard.yaml").write_text(
            policy.replace("params: {C: 1.0}", f"params: {{C: 1.0, tag: {tag}}}")
        )
        cli("run", check=0)
    cli("promote", "1", "--to", "production", check=0)
    return root


async def _traffic(url: str, *, clients: int = 6, seconds: float = 90.0) -> int:
    """Requests from `clients` concurrent users with random keys until the canary answered
    `CANARY_CALLS` of them (or `seconds` passed); the canary's count."""
    deadline = time.monotonic() + seconds
    counts = {"canary": 0}
    rng = random.Random(0)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def user() -> None:
            i = 0
            while counts["canary"] < CANARY_CALLS and time.monotonic() < deadline:
                body = {"key": f"k{rng.random()}", "records": [record(i)]}
                response = await client.post("/predict", json=body)
                assert response.status_code == 200, response.text
                if response.headers["x-route"] == "canary":
                    counts["canary"] += 1
                i += 1

        await asyncio.gather(*[user() for _ in range(clients)])
    return counts["canary"]


def _judge(project: Path, work: str) -> CheckResult:
    """Serve version 2 as a 10% canary doing `work` x version 1's work; the rule's verdict."""
    log_dir = predlog.prediction_log_dir(project)
    for part in log_dir.glob("**/*.parquet"):
        part.unlink()
    since = datetime.now(UTC)
    env = {"OMP_NUM_THREADS": "1", "LIVE_WORK_p": "1", "LIVE_WORK_c": work}
    with Server(project, ("--canary", "2", "--canary-weight", "0.1"), env=env) as server:
        canary = asyncio.run(_traffic(server.url))
        code, err = server.stop()
    assert code == 0, err
    assert canary >= 40, f"only {canary} canary responses"
    window = LiveWindow(project, "classification", log_dir.parent, "2", "1")
    config = GateConfig(type="latency_ratio", max_ratio=MAX_RATIO, percentile=50)
    analysis = analyse(
        window, [(config, LatencyRatioGate(max_ratio=MAX_RATIO))], since=since, baseline_since=since
    )
    (result,) = analysis.report.results
    print(f"canary doing {work}x the work: {result.message}")
    return result


def test_a_same_cost_canary_is_not_judged_slower(project: Path) -> None:
    result = _judge(project, "1")
    # Under these 6 closed-loop clients the server without turns also passed (1.09x [0.93x,
    # 1.43x]): this guards the behaviour, while the open-loop replay of the rollout demo
    # (docs/serving.md, Micro-batching) is where the overlap read 2.7x.
    assert result.status is not Status.FAILED, result.message
    assert result.evidence["ratio"] < MAX_RATIO, result.message


def test_a_canary_three_times_slower_is_judged_slower(project: Path) -> None:
    result = _judge(project, "3")
    assert result.status is Status.FAILED, result.message
    assert result.evidence["bounds"][0] > 1.0, result.message
