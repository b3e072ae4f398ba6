"""Content hashing: stable digests of bytes, files, JSON-able values, and a stat cache.

Large unchanged inputs are not re-read on every run: `FileHasher` remembers each
file's (size, mtime_ns, inode) with its sha256, as git's index does, and hashes
again only when those change.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_value(value: Any) -> str:
    """Digest of a JSON-serialisable value, independent of dict key order."""
    encoded = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return digest_bytes(encoded.encode())


def digest_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class FileHasher:
    """sha256 of files, memoised on disk by (size, mtime_ns, inode)."""

    def __init__(self, index_path: str | os.PathLike[str]) -> None:
        self.index_path = Path(index_path)
        try:
            self._index: dict[str, list[Any]] = json.loads(self.index_path.read_text())
        except (FileNotFoundError, ValueError):
            self._index = {}
        self._dirty = False

    def digest(self, path: str | os.PathLike[str]) -> str:
        resolved = Path(path).resolve()
        st = resolved.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        key = str(resolved)
        cached = self._index.get(key)
        if cached is not None and cached[:3] == stamp:
            return cached[3]
        value = digest_file(resolved)
        self._index[key] = [*stamp, value]
        self._dirty = True
        return value

    def digest_tree(self, path: str | os.PathLike[str]) -> str:
        """Digest of a file, or of every file under a directory (names and contents)."""
        root = Path(path)
        if root.is_file():
            return self.digest(root)
        parts = [(str(p.relative_to(root)), self.digest(p)) for p in sorted(root.rglob("*")) if p.is_file()]
        return digest_value(parts)

    def save(self) -> None:
        if not self._dirty:
            return
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._index))
        os.replace(tmp, self.index_path)
        self._dirty = False
