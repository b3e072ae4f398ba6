import tarfile
from pathlib import Path

import pytest

from shipyard.errors import IntegrityError
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
