"""Writing a document file whole or not at all (文件写入): the bytes go to a temporary file
beside the document, which then replaces it in one step. A process that dies or fails while
writing leaves the previous file (or none), never a cut-off one; so "the file exists" means
"the document is complete", which is what a rerun checks before writing a lost document again."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import faults


@contextlib.contextmanager
def replacing(path: Path | str) -> Iterator[Path]:
    """The temporary path to write; on leaving the block it replaces `path` (its folder is made
    first). An exception inside the block removes the temporary file and leaves `path` as it was."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        faults.hit("document")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_whole(path: Path | str, save: Callable[[str], object]) -> Path:
    """`save(temporary_path)` (e.g. a workbook's or document's `save`), then the file replaces
    `path`."""
    target = Path(path)
    with replacing(target) as temporary:
        save(str(temporary))
    return target


def write_bytes_whole(path: Path | str, content: bytes) -> Path:
    target = Path(path)
    with replacing(target) as temporary:
        temporary.write_bytes(content)
    return target
