import tarfile
import threading
from pathlib import Path

import pytest

from shipyard.errors import IntegrityError, ServiceUnavailableError
from shipyard.pipeline.cache import StageCache
from shipyard.workspace.objects import FolderStore, open_object_store

KEY = "ab" * 32


def test_an_entry_stored_by_one_clone_is_fetched_by_another(tmp_path: Path):
    shared = FolderStore(tmp_path / "shared")
    a, b = StageCache(tmp_path / "a", shared), StageCache(tmp_path / "b", shared)
    assert b.lookup("train", KEY) is None
    with a.store("train", KEY) as out:
        (out / "model").mkdir()
        (out / "model" / "weights.bin").write_bytes(b"\x00\x01")
    fetched = b.lookup("train", KEY)
    assert fetched == tmp_path / "b" / "train" / KEY[:32]
    assert (fetched / "model" / "weights.bin").read_bytes() == b"\x00\x01"
    assert StageCache(tmp_path / "c").lookup("train", KEY) is None  # no shared store: local only


def test_a_shared_entry_that_escapes_its_folder_is_refused(tmp_path: Path):
    evil = tmp_path / "evil.tar"
    (tmp_path / "payload").write_text("x")
    with tarfile.open(evil, "w") as tar:
        tar.add(tmp_path / "payload", arcname="../../outside")
    shared = FolderStore(tmp_path / "shared")
    shared.put(f"cache/train/{KEY[:32]}.tar", evil)
    with pytest.raises(IntegrityError, match="is not a clean archive"):
        StageCache(tmp_path / "b", shared).lookup("train", KEY)
    assert not (tmp_path / "outside").exists()


def test_a_relative_folder_store_is_under_the_project(tmp_path: Path):
    store = open_object_store("team-cache", tmp_path)
    assert isinstance(store, FolderStore) and store.root == tmp_path / "team-cache"


def _store_entries(cache: StageCache, count: int) -> list[tuple[str, str]]:
    entries = [(f"stage{i % 3}", f"{i:02d}" * 32) for i in range(count)]
    for stage, key in entries:
        with cache.store(stage, key) as out:
            (out / "output.bin").write_bytes(f"{stage} {key}".encode() * 1000)
    return entries


def test_prefetch_brings_every_missing_entry_whole(tmp_path: Path):
    shared = FolderStore(tmp_path / "shared")
    entries = _store_entries(StageCache(tmp_path / "a", shared), 12)
    b = StageCache(tmp_path / "b", shared)
    _store_entries(StageCache(tmp_path / "b"), 1)  # one entry b already has: not fetched again
    kept = b.path(*entries[0]) / "output.bin"
    kept.write_bytes(b"made here")
    b.prefetch([*entries, ("stage0", "ff" * 32)])  # plus one the store does not hold
    for stage, key in entries[1:]:
        fetched = b.path(stage, key) / "output.bin"
        assert fetched.read_bytes() == (tmp_path / "a" / stage / key[:32] / "output.bin").read_bytes()
        assert b.lookup(stage, key) == b.path(stage, key)
    assert kept.read_bytes() == b"made here"
    assert b.lookup("stage0", "ff" * 32) is None


class _MeetingStore(FolderStore):
    """A folder store whose reads wait for a second read to start: only fetches that overlap
    get through. (How else to observe that fetches run at once, without timing them.)"""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.meeting = threading.Barrier(2, timeout=30)

    def get(self, key: str, dst: Path) -> bool:
        self.meeting.wait()
        return super().get(key, dst)


def test_prefetch_fetches_several_entries_at_once(tmp_path: Path):
    entries = _store_entries(StageCache(tmp_path / "a", FolderStore(tmp_path / "shared")), 4)
    b = StageCache(tmp_path / "b", _MeetingStore(tmp_path / "shared"))
    b.prefetch(entries)  # one read at a time would wait at the barrier until it broke
    assert all((b.path(stage, key) / "output.bin").is_file() for stage, key in entries)


def test_a_failed_fetch_names_the_object_and_the_store(tmp_path: Path, unreachable_s3: None):
    cache = StageCache(tmp_path / "b", open_object_store("s3://team/cache", tmp_path))
    with pytest.raises(ServiceUnavailableError) as raised:
        cache.prefetch([("train", KEY), ("evaluate", "cd" * 32)])
    message = str(raised.value)
    assert f"s3://team/cache while reading cache/train/{KEY[:32]}.tar" in message
    assert not list((tmp_path / "b").rglob("*.bin"))
