"""Start and stop the team services on 127.0.0.1, each in a temporary folder on a free port.

PostgreSQL (Debian's `postgresql` package: `initdb -A trust`, `pg_ctl`), an S3 emulator
(moto's server mode) and `mlflow server` with the PostgreSQL backend and S3 artifacts:
what a team runs, on one machine, with nothing to clean up but the folder.

    python scripts/services/services.py start DIR   # prints `export NAME=VALUE` lines
    python scripts/services/services.py stop DIR

`start` writes DIR/services.json (URLs, ports, process ids); `stop` reads it and stops each
process it started, by its id. Used by the `services` pytest fixture and `benchmarks/team.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
BUCKET = "shipyard-team"
AWS_KEYS = {
    "AWS_ACCESS_KEY_ID": "team",
    "AWS_SECRET_ACCESS_KEY": "team-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
STATE_FILE = "services.json"


class ServiceError(RuntimeError):
    """A service did not start; the message names it and says what to install or check."""


@dataclass(frozen=True)
class Services:
    """Where the running services answer, and the process ids `stop` ends."""

    root: str
    pg_data: str
    postgres_port: int
    s3_port: int
    mlflow_port: int
    pids: dict[str, int]

    @property
    def postgres_url(self) -> str:
        # SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3; we ship psycopg2-binary
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.postgres_port}"

    @property
    def state_url(self) -> str:
        """SQLAlchemy URL of Shipyard's shared state database."""
        return f"{self.postgres_url}/shipyard"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def env(self) -> dict[str, str]:
        """The environment a clone needs to use the services."""
        return {
            **AWS_KEYS,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "SHIPYARD_STATE_URL": self.state_url,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if Path(folder, name).is_file():
            return str(Path(folder, name))
    found = shutil.which(name)
    if found:
        return found
    raise ServiceError(
        f"PostgreSQL's '{name}' was not found in {', '.join(PG_BIN_DIRS)} nor on PATH. "
        "Install Debian's 'postgresql' package (bash .ci/system-packages does it)."
    )


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _run(cmd: list[str], what: str, **kwargs: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise ServiceError(
            f"{what} failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )


def _wait(check: object, what: str, log: Path, pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _RUNNING[pid].poll() is not None:
            raise ServiceError(f"{what} exited at start-up. Its log ({log}):\n{log.read_text()[-2000:]}")
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text()[-2000:] if log.exists() else ""
    raise ServiceError(f"{what} did not answer within {timeout:.0f} s. Its log ({log}):\n{tail}")


def _start_postgres(data: Path) -> int:
    """A throwaway cluster in `data`, which the `postgres` user must own when we are root
    (its own temporary folder: pytest's are private to root)."""
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    port = free_port()
    _run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), "initdb")
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off"
    log = data / "postgres.log"
    _run(
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
        "pg_ctl start",
    )
    for database in ("mlflow", "shipyard"):
        _run(
            [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database], "createdb"
        )
    return port


_RUNNING: dict[int, subprocess.Popen[bytes]] = {}  # what this process started, until `kill` waits for it


def _spawn(cmd: list[str], log: Path, env: dict[str, str]) -> int:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _RUNNING[proc.pid] = proc
    return proc.pid


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a 127.0.0.1 URL we built)
        return bool(response.status == 200)


def _start_s3(root: Path, env: dict[str, str]) -> tuple[int, int]:
    port = free_port()
    log = root / "moto.log"
    pid = _spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], log, env)
    _wait(lambda: _http_ok(f"http://127.0.0.1:{port}/moto-api/"), "The S3 emulator (moto)", log, pid)
    import boto3

    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", **_boto_keys()).create_bucket(Bucket=BUCKET)
    return port, pid


def _boto_keys() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS_KEYS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS_KEYS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS_KEYS["AWS_DEFAULT_REGION"],
    }


def start_mlflow(root: Path, postgres_port: int, s3_port: int, port: int | None = None) -> tuple[int, int]:
    """`mlflow server` on PostgreSQL with S3 artifacts; also used to restart it after a kill."""
    port = port or free_port()
    env = {
        **os.environ,
        **AWS_KEYS,
        "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        # MLflow 3 starts ~7 job-runner processes (huey consumers, ~240 MB each) for server-side
        # jobs Shipyard never submits: on a 2-core CI machine they only cost start-up and memory.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = root / f"mlflow-{port}.log"
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"postgresql+psycopg2://postgres@127.0.0.1:{postgres_port}/mlflow",
        "--artifacts-destination", f"s3://{BUCKET}/mlflow",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    pid = _spawn(cmd, log, env)
    _wait(
        lambda: _http_ok(f"http://127.0.0.1:{port}/health"),
        "The MLflow tracking server",
        log,
        pid,
        timeout=120,
    )
    return port, pid


def start(root: Path) -> Services:
    """Start PostgreSQL, the S3 emulator and the MLflow server under `root` (created, must be new)."""
    root = Path(root).resolve()
    root.mkdir(parents=True)
    pids: dict[str, int] = {}
    pg_data = Path(tempfile.mkdtemp(prefix="shipyard-pg-"))
    services = None
    try:
        pg_port = _start_postgres(pg_data)
        s3_port, pids["s3"] = _start_s3(root, {**os.environ, **AWS_KEYS})
        ml_port, pids["mlflow"] = start_mlflow(root, pg_port, s3_port)
        services = Services(str(root), str(pg_data), pg_port, s3_port, ml_port, pids)
    finally:
        partial = {"root": str(root), "pg_data": str(pg_data), "pids": pids}
        (root / STATE_FILE).write_text(json.dumps(asdict(services) if services else partial))
        if services is None:
            stop(root)
    return services


def load(root: Path) -> Services:
    return Services(**json.loads((Path(root) / STATE_FILE).read_text()))


def kill(pid: int) -> None:
    """End one process group we started (its server and the workers it forked)."""
    proc = _RUNNING.pop(pid, None)
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()  # our child: reap it, or it lingers as a zombie in its group
            os.killpg(pid, 0)
            time.sleep(0.1)
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc is not None:
        proc.wait(timeout=10)


def stop(root: Path) -> None:
    """Stop every service `start` left running under `root`."""
    root = Path(root).resolve()
    state = json.loads((root / STATE_FILE).read_text()) if (root / STATE_FILE).exists() else {"pids": {}}
    for pid in state.get("pids", {}).values():
        kill(pid)
    pg_data = Path(state.get("pg_data", root / "missing"))
    if (pg_data / "postmaster.pid").exists():
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(pg_data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
    shutil.rmtree(pg_data, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: services.py start|stop DIR", file=sys.stderr)
        return 2
    root = Path(argv[1])
    if argv[0] == "stop":
        stop(root)
        return 0
    try:
        services = start(root)
    except ServiceError as exc:
        print(f"Could not start the team services: {exc}", file=sys.stderr)
        return 3
    for name, value in services.env().items():
        print(f"export {name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
