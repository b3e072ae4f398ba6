"""Object stores: where clones share files (the stage cache, the logs, run reports), as whole objects by key.

One protocol, two implementations: a folder (a shared volume, or a local folder in tests)
and anything `pyarrow.fs` opens from a URL (`s3://bucket/prefix`; the endpoint, keys and
region come from the usual `AWS_*` variables, `AWS_ENDPOINT_URL` for an S3 emulator).
Writes are whole objects (a temporary name, then a rename, on a folder), so a reader never
sees half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from shipyard.errors import ServiceUnavailableError

_CHUNK = 1 << 20
#: objects moved at once by `concurrently`: enough to overlap the round trips, few enough not
#: to crowd a small object store (or an S3 emulator) with one clone's connections
TRANSFERS = 4

Item = TypeVar("Item")
Result = TypeVar("Result")


class ObjectStore(Protocol):
    """Whole objects by `/`-separated key."""

    description: str

    def get(self, key: str, dst: Path) -> bool:
        """Write the object `key` to the file `dst`; False (and nothing written) if it is absent."""
        ...

    def put(self, key: str, src: Path) -> None:
        """Store the file `src` as the object `key`, replacing any previous one."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Every key under `prefix` (a folder-like `a/b`), sorted; `[]` when there is none."""
        ...


class FolderStore:
    """Objects as files under a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = str(root)

    def get(self, key: str, dst: Path) -> bool:
        source = self.root / key
        if not source.is_file():
            return False
        shutil.copyfile(source, dst)
        return True

    def put(self, key: str, src: Path) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def list(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")  # `.name-…`: a put under way
        )


class ArrowStore:
    """Objects in a `pyarrow.fs` file system (S3 and the others it opens from a URL)."""

    def __init__(self, url: str) -> None:
        from pyarrow import fs

        self.description = url
        if url.startswith("s3://"):
            self._fs: fs.FileSystem = fs.S3FileSystem(
                endpoint_override=os.environ.get("AWS_ENDPOINT_URL"),
                connect_timeout=5,
                request_timeout=60,
                retry_strategy=fs.AwsStandardS3RetryStrategy(max_attempts=3),
                # An object smaller than one upload part goes up as one PutObject on close, not as
                # a three-request multipart upload; a failure still surfaces inside `put`.
                allow_delayed_open=True,
            )
            self._base = url.removeprefix("s3://").rstrip("/")
        else:
            self._fs, path = fs.FileSystem.from_uri(url)
            self._base = path.rstrip("/")

    def _unreachable(self, exc: OSError, doing: str) -> ServiceUnavailableError:
        """The error naming the store and the object (`doing`: "reading KEY", …) it failed on."""
        return ServiceUnavailableError(
            f"Could not reach the object store {self.description} while {doing}: {str(exc).strip()}. "
            "Check that it is running and reachable, and its credentials "
            "(state.object_store / SHIPYARD_OBJECT_STORE, AWS_*)."
        )

    def get(self, key: str, dst: Path) -> bool:
        try:
            with self._fs.open_input_stream(f"{self._base}/{key}") as stream, dst.open("wb") as out:
                while chunk := stream.read(_CHUNK):
                    out.write(chunk)
        except FileNotFoundError:
            dst.unlink(missing_ok=True)
            return False
        except OSError as exc:
            dst.unlink(missing_ok=True)
            raise self._unreachable(exc, f"reading {key}") from exc
        return True

    def put(self, key: str, src: Path) -> None:
        from pyarrow import fs

        path = f"{self._base}/{key}"
        try:
            if not isinstance(self._fs, fs.S3FileSystem):  # S3 has no folders; others need them made
                self._fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
            with self._fs.open_output_stream(path) as out, src.open("rb") as data:
                while chunk := data.read(_CHUNK):
                    out.write(chunk)
        except OSError as exc:
            raise self._unreachable(exc, f"writing {key}") from exc

    def list(self, prefix: str) -> list[str]:
        from pyarrow import fs

        selector = fs.FileSelector(f"{self._base}/{prefix.strip('/')}", recursive=True, allow_not_found=True)
        try:
            infos = self._fs.get_file_info(selector)
        except OSError as exc:
            raise self._unreachable(exc, f"listing {prefix}") from exc
        start = len(self._base) + 1
        return sorted(i.path[start:] for i in infos if i.type == fs.FileType.File)


def concurrently(transfer: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """`transfer` of each item, `TRANSFERS` at a time, the results in `items` order.

    For gets and puts, which mostly wait on the store; the first failure in `items` order is
    raised once the others are done.
    """
    if len(items) < 2:
        return [transfer(item) for item in items]
    workers = min(TRANSFERS, len(items))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shipyard-transfer") as pool:
        return list(pool.map(transfer, items))


def open_object_store(location: str, root: Path) -> ObjectStore:
    """A folder (relative to `root` when relative) or a URL that pyarrow opens."""
    if "://" in location and not location.startswith("file://"):
        return ArrowStore(location)
    path = Path(location.removeprefix("file://"))
    return FolderStore(path if path.is_absolute() else root / path)
