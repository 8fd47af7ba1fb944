"""The campaign inbox (收件箱): each batch a recommending unit hands in is a folder
`inbox/<unit>/<folder>/` with its files and a `batch.json` marker (unit, received_at), as the
exchange folder delivers it. Batches are opened only through `documents.safety`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from documents.safety import BatchItem, iter_batch
from domain.calendar import SHANGHAI

BATCH_MARKER = "batch.json"


class InboxBatch(NamedTuple):
    """One batch waiting in the inbox."""

    unit: str  # recommending unit's code
    folder: Path
    received_at: dt.datetime


def inbox_batches(inbox: Path) -> list[InboxBatch]:
    """Every batch in the inbox with its marker, in folder order."""
    if not inbox.exists():
        return []
    found = []
    for marker in sorted(inbox.glob(f"*/*/{BATCH_MARKER}")):
        folder = marker.parent
        unit, received_at = _read_marker(marker)
        found.append(InboxBatch(unit or folder.parent.name, folder, received_at))
    return found


def arrived_at(path: Path) -> dt.datetime:
    """When a handed-in file arrived: its modification time (as the mail client or the drop
    folder saved it), in Shanghai time."""
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=SHANGHAI)


def latest_arrival(paths: Sequence[Path]) -> dt.datetime:
    """When a batch handed in as files arrived: the latest arrival of its files (a folder's
    files counted one by one)."""
    times = []
    for path in paths:
        path = Path(path)
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        times += [arrived_at(p) for p in files]
    return max(times) if times else dt.datetime.now(SHANGHAI)


def _read_marker(marker: Path) -> tuple[str, dt.datetime]:
    """The unit and arrival time a batch marker gives. A marker that cannot be read (broken
    JSON, no or a bad time) stops no run: the batch counts as arrived when the marker was
    written, for the unit whose folder it is in."""
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
        received_at = dt.datetime.fromisoformat(meta["received_at"])
        unit = str(meta.get("unit") or "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "", arrived_at(marker)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=SHANGHAI)
    return unit, received_at


def batch_files(folder: Path) -> list[Path]:
    """The files of an inbox batch (its marker left out), in name order."""
    return sorted(p for p in folder.iterdir() if p.name != BATCH_MARKER)


def folder_file_names(folder: Path, limit: int = 200) -> list[str]:
    """The names of a batch folder's files (its marker left out), as far as they can be
    listed; for the record of a batch that could not be taken."""
    try:
        return sorted(p.name for p in folder.iterdir() if p.name != BATCH_MARKER)[:limit]
    except OSError:
        return []


@contextmanager
def opened_batch(paths: Sequence[Path], max_bytes: int) -> Iterator[list[BatchItem]]:
    """The documents of a batch (files, folders, .zip), each checked by `documents.safety`; a
    refused one carries its `error`. Files taken out of a zip live until the block ends."""
    with tempfile.TemporaryDirectory(prefix="qcamp-intake-") as tmp:
        yield list(iter_batch([Path(p) for p in paths], workdir=tmp, max_bytes=max_bytes))


def missing_paths(paths: Sequence[Path]) -> list[Path]:
    """The given paths that do not exist."""
    return [p for p in paths if not Path(p).exists()]


def content_hash(files: Sequence[tuple[str, Path, bytes]], refused: Sequence[str]) -> str:
    """What identifies a batch's content: its files' names and bytes, or, when every file was
    refused, the refused files' names."""
    if not files:
        return hashlib.sha256("|".join(sorted(refused)).encode()).hexdigest()
    digest = hashlib.sha256()
    for name, _path, data in sorted(files, key=lambda f: (f[0], f[1])):
        digest.update(name.encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()
