"""Hostile and broken files, refused before any parser sees them.

Units send Word/Excel files by e-mail or upload, often in a ``.zip`` batch. Before python-docx or
openpyxl touches a file, :func:`check_file` / :func:`check_bytes` verify that it is

* not larger than ``max_bytes`` on disk;
* a complete zip (a truncated upload fails here, not deep inside a parser);
* not a zip bomb: the declared *and the actually decompressed* size stay under
  ``max_uncompressed``, and no large part compresses better than ``max_ratio``;
* free of macros (``.docm``/``.xlsm``… or a ``vbaProject.bin`` part);
* not an OLE2 compound file (``D0 CF 11 E0``): that is what a password-protected .docx/.xlsx is,
  and what an old .doc/.xls is;
* free of ``<!DOCTYPE``/``<!ENTITY`` declarations in its XML parts (entities are never resolved:
  such a file is refused outright; real Office/WPS files never carry them).

Every refusal is an :class:`UnreadableFile` whose ``message`` is Chinese, names the file and says
how to fix it, so it can be sent back to the unit as is.

:func:`iter_batch` expands folders and ``.zip`` batches (checking the batch itself for bombs,
path-traversal names and nesting) and yields one :class:`BatchItem` per document, in memory.

For Excel output, :func:`safe_cell_value` / :func:`write_cell_safely` keep text typed by users that
starts with ``= + - @`` from being taken as a formula (CSV/formula injection).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from domain.findings import FILE_TOO_LARGE, FILE_UNREADABLE

MAX_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 200
# Parts smaller than this are not held to the ratio: a few kB of repetitive XML may compress 300:1.
RATIO_MIN_PART = 1024 * 1024

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
PDF_MAGIC = b"%PDF-"

OOXML_EXTS = {".docx", ".xlsx", ".dotx", ".xltx"}
MACRO_EXTS = {".docm", ".xlsm", ".dotm", ".xltm", ".xlam", ".pptm"}
LEGACY_EXTS = {".doc": ".docx", ".xls": ".xlsx", ".wps": ".docx", ".et": ".xlsx"}
OTHER_EXTS = {".pdf", ".jpg", ".jpeg", ".png", ".ofd"}
ACCEPTED_HINT = ".docx（申报书）、.xlsx（汇总表）或 .pdf/.jpg/.png（盖章扫描件）"


class UnreadableFile(Exception):
    """A file refused before parsing. ``code`` is FILE_TOO_LARGE or FILE_UNREADABLE."""

    def __init__(self, code: str, message: str, *, file: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file

    def __repr__(self) -> str:
        return f"UnreadableFile({self.code!r}, {self.message!r})"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _too_large(name: str, msg: str) -> UnreadableFile:
    return UnreadableFile(FILE_TOO_LARGE, f"文件「{name}」{msg}", file=name)


def _unreadable(name: str, msg: str) -> UnreadableFile:
    return UnreadableFile(FILE_UNREADABLE, f"文件「{name}」{msg}", file=name)


def _broken(name: str) -> UnreadableFile:
    return _unreadable(name, "文件不完整或已损坏，请重新保存后提交。")


_CFB_ENCRYPTED_MARKERS = (
    "EncryptedPackage".encode("utf-16-le"),
    "EncryptionInfo".encode("utf-16-le"),
)
# Patterns refused in XML parts, in the encodings an XML part may use.
_XML_DECL_PATTERNS = tuple(
    p.encode(enc) for p in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
_XML_SCAN_OVERLAP = 64


def _refuse_cfb(name: str, data_head: bytes) -> UnreadableFile:
    ext = PurePosixPath(name).suffix.lower()
    if any(m in data_head for m in _CFB_ENCRYPTED_MARKERS) or ext in OOXML_EXTS | MACRO_EXTS:
        return _unreadable(
            name,
            "设置了打开密码（已加密），系统无法读取。请在 Word/WPS 中取消文档密码"
            "（文件→信息→保护文档→用密码进行加密，清空密码），重新保存为 .docx/.xlsx 后提交。",
        )
    target = LEGACY_EXTS.get(ext, ".docx/.xlsx")
    return _unreadable(
        name,
        f"是旧版 Word/Excel 格式（.doc/.xls），系统无法读取。请用 Word/WPS 打开后"
        f"“另存为” {target} 格式再提交。",
    )


def _scan_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    budget: int,
    max_uncompressed: int,
) -> int:
    """Decompress one member (streaming), counting real bytes; return its size.

    Refuses the file when the running total passes ``budget`` (zip bomb, even with lying headers),
    when the CRC is wrong (truncated/corrupt) and when an XML part declares a DOCTYPE/ENTITY.
    """
    is_xml = info.filename.lower().endswith((".xml", ".rels", ".vml"))
    total = 0
    tail = b""
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(256 * 1024)
                if not chunk:
                    break
                total += len(chunk)
                if total > budget:
                    raise _too_large(
                        name,
                        f"解压后超过 {_mb(max_uncompressed)}（疑似压缩炸弹或含超大图片）。"
                        "请压缩图片、删除无关内容后重新保存提交。",
                    )
                if is_xml:
                    window = tail + chunk
                    # Both declarations contain "!" in every encoding checked; parts without one,
                    # nearly all of them, need no case-folded search ("<" is everywhere in XML,
                    # "!" is rare, so this is a fast memchr).
                    if b"!" in window and any(
                        p.upper() in window.upper() for p in _XML_DECL_PATTERNS
                    ):
                        raise _unreadable(
                            name,
                            "含有不允许的 XML 声明（DOCTYPE/ENTITY），可能被篡改。"
                            "请用 Word/WPS 打开后“另存为”新文件再提交。",
                        )
                    tail = chunk[-_XML_SCAN_OVERLAP:]
    except UnreadableFile:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        # NotImplementedError: unsupported compression; RuntimeError is raised for encrypted
        # members and handled by the caller.
        raise _broken(name) from exc
    return total


def _bad_member_name(member: str) -> bool:
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        return True
    parts = re.split(r"[\\/]", member)
    return any(p == ".." for p in parts)


def _check_zip(
    name: str,
    data: bytes,
    *,
    max_uncompressed: int,
    max_ratio: float,
    ooxml: bool,
) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise _broken(name) from exc
    with zf:
        infos = zf.infolist()
        if not infos:
            raise _broken(name)
        declared = sum(i.file_size for i in infos)
        if declared > max_uncompressed:
            raise _too_large(
                name,
                f"解压后约 {_mb(declared)}，超过 {_mb(max_uncompressed)} 上限（疑似压缩炸弹或"
                "含超大图片）。请压缩图片、删除无关内容后重新保存提交。",
            )
        for info in infos:
            if info.file_size >= RATIO_MIN_PART and info.file_size > max_ratio * max(
                info.compress_size, 1
            ):
                raise _too_large(
                    name,
                    f"内部压缩比异常（{info.file_size // max(info.compress_size, 1)}:1，"
                    "疑似压缩炸弹），系统拒绝解压。请用 Word/WPS/Excel 重新保存后提交。",
                )
        names_lower = [i.filename.lower() for i in infos]
        if any(n.endswith("vbaproject.bin") or n.endswith("vbadata.xml") for n in names_lower):
            raise _unreadable(
                name,
                "包含宏（VBA 代码），出于安全原因不予接收。请“另存为”不含宏的 .docx/.xlsx "
                "格式后提交。",
            )
        if ooxml and any(_bad_member_name(i.filename) for i in infos):  # batches: per member
            raise _unreadable(name, "内部文件路径异常（可能被篡改），请重新保存后提交。")
        if ooxml and "[content_types].xml" not in names_lower:
            raise _unreadable(
                name, "不是有效的 Word/Excel 文件，请用 Word/WPS 打开后另存为 .docx/.xlsx 再提交。"
            )
        budget = max_uncompressed
        for info in infos:
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _unreadable(
                    name, "设置了密码（已加密），系统无法读取。请取消密码后重新保存或打包再提交。"
                )
            try:
                budget -= _scan_member(zf, info, name, budget, max_uncompressed)
            except RuntimeError as exc:  # encrypted member
                raise _broken(name) from exc


def check_bytes(
    data: bytes,
    name: str,
    *,
    max_bytes: int = MAX_BYTES,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> None:
    """Check a document held in memory; ``name`` is its file name (for the type and messages)."""
    display = PurePosixPath(name.replace("\\", "/")).name or name
    ext = PurePosixPath(display).suffix.lower()
    if len(data) > max_bytes:
        raise _too_large(
            display,
            f"大小为 {_mb(len(data))}，超过 {_mb(max_bytes)} 上限。请压缩图片或删除无关附件后"
            "重新提交。",
        )
    if not data:
        raise _unreadable(display, "是空文件（0 字节），请重新保存后提交。")
    if ext in MACRO_EXTS:
        raise _unreadable(
            display,
            f"是含宏的文件（{ext}），出于安全原因不予接收。请“另存为”不含宏的 .docx/.xlsx "
            "格式后提交。",
        )
    if data.startswith(CFB_MAGIC):
        raise _refuse_cfb(display, data[: 1024 * 1024])
    if ext in LEGACY_EXTS:
        raise _refuse_cfb(display, b"")
    if ext in OOXML_EXTS or ext == ".zip":
        if not (data.startswith(ZIP_MAGIC) or data.startswith(EMPTY_ZIP_MAGIC)):
            if ext == ".zip":
                raise _broken(display)
            raise _unreadable(
                display,
                "不是有效的 Word/Excel 文件（可能只是改了扩展名）。请用 Word/WPS 打开后"
                "另存为 .docx/.xlsx 再提交。",
            )
        _check_zip(
            display,
            data,
            max_uncompressed=max_uncompressed,
            max_ratio=max_ratio,
            ooxml=ext != ".zip",
        )
        return
    if ext == ".pdf":
        if not data.lstrip()[:1024].startswith(PDF_MAGIC):
            raise _unreadable(display, "不是有效的 PDF 文件，请重新导出 PDF 后提交。")
        if b"%%EOF" not in data[-2048:]:
            raise _broken(display)
        return
    if ext in OTHER_EXTS:
        return
    raise _unreadable(display, f"的类型（{ext or '无扩展名'}）不受支持，请提交 {ACCEPTED_HINT}。")


def check_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = MAX_BYTES,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> None:
    """Refuse a hostile or broken file before parsing; return None when it is safe to parse.

    Raises :class:`UnreadableFile` with code ``FILE_TOO_LARGE`` (size on disk, decompressed size,
    compression ratio) or ``FILE_UNREADABLE`` (truncated/corrupt, macros, encrypted or old binary
    Office formats, DOCTYPE/ENTITY declarations, unsupported type).
    """
    p = Path(path)
    if not p.is_file():
        raise _unreadable(p.name, "不存在或不是普通文件，请重新上传。")
    size = p.stat().st_size
    if size > max_bytes:
        raise _too_large(
            p.name,
            f"大小为 {_mb(size)}，超过 {_mb(max_bytes)} 上限。请压缩图片或删除无关附件后重新提交。",
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise _unreadable(p.name, "无法读取，请重新上传。") from exc
    check_bytes(
        data, p.name, max_bytes=max_bytes, max_uncompressed=max_uncompressed, max_ratio=max_ratio
    )


def safe_open_zip(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
) -> zipfile.ZipFile:
    """Check a zip (or OOXML) file as :func:`check_file` does, then open it.

    ``source`` is a path or the bytes; for bytes, ``name`` gives the file name used for the type
    and the messages (default ``upload.zip``).
    """
    if isinstance(source, bytes):
        data, display = source, name or "upload.zip"
    else:
        p = Path(source)
        check_file(p, max_bytes=max_bytes, max_uncompressed=max_uncompressed, max_ratio=max_ratio)
        data, display = p.read_bytes(), name or p.name
    if PurePosixPath(display).suffix.lower() not in OOXML_EXTS | {".zip"}:
        display = display + ".zip"
    check_bytes(
        data, display, max_bytes=max_bytes, max_uncompressed=max_uncompressed, max_ratio=max_ratio
    )
    return zipfile.ZipFile(io.BytesIO(data))


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------

_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


def _is_junk(rel: str) -> bool:
    parts = [p for p in re.split(r"[\\/]", rel) if p]
    if not parts:
        return True
    base = parts[-1]
    return (
        any(p == "__MACOSX" for p in parts)
        or base.lower() in _JUNK_NAMES
        or base.startswith("~$")  # Office lock files
        or base.startswith("._")
    )


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name, repairing GBK names that Windows zip tools store without the UTF-8 flag."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for enc in ("utf-8", "gb18030"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                continue
    return name


class BatchItem(NamedTuple):
    """One document of a batch.

    ``name`` is its display name (``batch.zip/folder/x.docx``); ``path`` the file on disk (the
    original file, or the copy extracted into ``workdir``; None for a zip member when no workdir
    was given); ``data`` its bytes; ``error`` the refusal when it failed the checks (then ``path``
    is None and ``data`` empty).
    """

    name: str
    path: Path | None
    data: bytes
    error: UnreadableFile | None = None


@dataclass(frozen=True)
class BatchLimits:
    max_bytes: int = MAX_BYTES
    max_uncompressed: int = MAX_UNCOMPRESSED
    max_ratio: float = MAX_RATIO
    max_batch_bytes: int = 200 * 1024 * 1024  # a batch zip on disk
    max_batch_uncompressed: int = 500 * 1024 * 1024
    max_entries: int = 2000
    max_depth: int = 2  # a zip inside a zip, no deeper


def _refused(name: str, err: UnreadableFile) -> BatchItem:
    return BatchItem(name, None, b"", err)


MAX_NAME_BYTES = 255  # what ext4, NTFS, APFS and tmpfs take for one file or folder name


def _long_name_part(member: str) -> str | None:
    """The part of an archive member's path that no filesystem takes as a name (over 255 bytes
    in UTF-8), or None."""
    for part in re.split(r"[\\/]", member):
        if len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            return part
    return None


def _shortened(name: str) -> str:
    """A long name as messages show it: its first 20 characters, an ellipsis and its suffix."""
    stem, suffix = os.path.splitext(name)
    return f"{stem[:20]}…{suffix[:10]}" if len(name) > 30 else name


def _name_too_long(display: str, part: str) -> UnreadableFile:
    size = len(part.encode("utf-8", "surrogatepass"))
    shown = _shortened(part)
    return _unreadable(
        shown,
        f"在压缩包「{display}」中的文件名过长（{size} 字节，超过 {MAX_NAME_BYTES} 字节上限），"
        "系统无法保存。请把文件名缩短到 80 个汉字以内后重新打包提交。",
    )


class _Batch:
    def __init__(self, limits: BatchLimits, workdir: Path | None) -> None:
        self.limits = limits
        self.workdir = workdir
        self.used: set[str] = set()

    def _extract(self, rel: str, data: bytes) -> Path | None:
        if self.workdir is None:
            return None
        # Flat, unique, safe file names inside workdir: never a path taken from the archive.
        base = re.sub(r'[<>:"|?*\x00-\x1f]', "_", PurePosixPath(rel).name) or "file"
        stem, suffix = os.path.splitext(base)
        candidate, n = base, 1
        while candidate.lower() in self.used:
            n += 1
            candidate = f"{stem}_{n}{suffix}"
        self.used.add(candidate.lower())
        target = self.workdir / candidate
        target.write_bytes(data)  # OSError is the caller's: the name or the disk refused it
        return target

    def item(self, name: str, data: bytes, path: Path | None) -> BatchItem:
        lim = self.limits
        try:
            check_bytes(
                data,
                name,
                max_bytes=lim.max_bytes,
                max_uncompressed=lim.max_uncompressed,
                max_ratio=lim.max_ratio,
            )
        except UnreadableFile as err:
            return _refused(name, err)
        if path is not None:
            return BatchItem(name, path, data)
        try:
            return BatchItem(name, self._extract(name, data), data)
        except OSError:
            shown = _shortened(PurePosixPath(name).name)
            return _refused(
                name.replace(PurePosixPath(name).name, shown),
                _unreadable(
                    shown,
                    "的文件名无法保存到磁盘（过长或含系统不允许的字符）。"
                    "请把文件名缩短、只用汉字、字母、数字和下划线后重新提交。",
                ),
            )

    def expand_zip(self, name: str, data: bytes, depth: int) -> Iterator[BatchItem]:
        lim = self.limits
        display = PurePosixPath(name).name
        if depth > lim.max_depth:
            yield _refused(
                name,
                _unreadable(
                    display, "是多层嵌套的压缩包，请解压后把申报材料直接放在一个压缩包内提交。"
                ),
            )
            return
        try:
            check_bytes(
                data,
                display if display.lower().endswith(".zip") else display + ".zip",
                max_bytes=lim.max_batch_bytes,
                max_uncompressed=lim.max_batch_uncompressed,
                max_ratio=lim.max_ratio,
            )
            zf = zipfile.ZipFile(io.BytesIO(data))
        except UnreadableFile as err:
            yield _refused(name, err)
            return
        except zipfile.BadZipFile:
            yield _refused(name, _broken(display))
            return
        with zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > lim.max_entries:
                yield _refused(
                    name,
                    _unreadable(
                        display,
                        f"包含 {len(infos)} 个文件，超过 {lim.max_entries} 个上限，请分批提交。",
                    ),
                )
                return
            for info in infos:
                member = _member_name(info)
                if _is_junk(member):
                    continue
                safe = "/".join(p for p in re.split(r"[\\/]", member) if p not in ("", ".", ".."))
                item_name = f"{name}/{safe}"
                if (long_part := _long_name_part(member)) is not None:
                    err = _name_too_long(display, long_part)
                    yield _refused(item_name.replace(long_part, err.file), err)
                    continue
                if _bad_member_name(member):
                    yield _refused(
                        item_name,
                        _unreadable(
                            PurePosixPath(safe).name or display,
                            f"在压缩包「{display}」中的路径异常（{member}），已拒绝。"
                            "请重新打包后提交。",
                        ),
                    )
                    continue
                inner = zf.read(info)  # bounded: the batch passed check_bytes
                if member.lower().endswith(".zip"):
                    yield from self.expand_zip(item_name, inner, depth + 1)
                else:
                    yield self.item(item_name, inner, None)

    def from_path(self, p: Path, name: str) -> Iterator[BatchItem]:
        lim = self.limits
        is_zip = p.suffix.lower() == ".zip"
        cap = lim.max_batch_bytes if is_zip else lim.max_bytes
        try:
            if not p.is_file():
                raise _unreadable(p.name, "不存在或不是普通文件，请重新上传。")
            size = p.stat().st_size
            if size > cap:
                raise _too_large(
                    p.name,
                    f"大小为 {_mb(size)}，超过 {_mb(cap)} 上限。请压缩图片或分批提交。",
                )
            data = p.read_bytes()
        except UnreadableFile as err:
            yield _refused(name, err)
            return
        except OSError:
            yield _refused(name, _unreadable(p.name, "无法读取，请重新上传。"))
            return
        if is_zip:
            yield from self.expand_zip(name, data, 1)
        else:
            yield self.item(name, data, p)


def iter_batch(
    paths: Iterable[str | os.PathLike[str]],
    *,
    workdir: str | os.PathLike[str] | None = None,
    max_bytes: int = MAX_BYTES,
    max_uncompressed: int = MAX_UNCOMPRESSED,
    max_ratio: float = MAX_RATIO,
    limits: BatchLimits | None = None,
) -> Iterator[BatchItem]:
    """Expand files, folders (recursively; symlinks and Office lock files skipped) and ``.zip``
    batches into documents.

    Every document is checked with :func:`check_bytes`; a refused one is yielded with ``error``
    set so the rest of the batch still goes through. A batch zip itself is checked for size,
    bombs, path-traversal names, entry count and nesting depth (``limits``). Documents taken out
    of a zip are written, under flat unique names, into ``workdir`` when one is given.
    """
    lim = limits or BatchLimits(
        max_bytes=max_bytes, max_uncompressed=max_uncompressed, max_ratio=max_ratio
    )
    batch = _Batch(lim, Path(workdir) if workdir is not None else None)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel_path = f.relative_to(p)
                if (
                    not f.is_file()
                    or f.is_symlink()
                    or any((p / parent).is_symlink() for parent in rel_path.parents)
                    or _is_junk(rel_path.as_posix())
                ):
                    continue
                yield from batch.from_path(f, f"{p.name}/{rel_path.as_posix()}")
        else:
            yield from batch.from_path(p, p.name)


# ---------------------------------------------------------------------------------------------
# Excel cells
# ---------------------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell_value(v: object) -> tuple[str | int | float | None, bool]:
    """Prepare a user-supplied value for an Excel cell.

    Returns ``(value, as_text)``. ``value`` is the exact visible text (strings are kept verbatim,
    nothing is prepended); ``as_text`` is True when the text starts with ``= + - @`` (or a tab/CR)
    and so could be read as a formula. The writer must then store it as a string cell with the
    *quotePrefix* style — what Excel itself does when a user types a leading apostrophe: the cell
    shows ``=1+1`` literally, stays text when edited, and its value has no added character.
    Use :func:`write_cell_safely`, which does both.
    """
    if v is None:
        return None, False
    if isinstance(v, bool):
        return ("是" if v else "否"), False
    if isinstance(v, int | float):
        return v, False
    text = str(v)
    if text == "":
        return None, False
    return text, text.startswith(FORMULA_PREFIXES)


def write_cell_safely(cell: Any, v: object) -> None:
    """Write ``v`` to an openpyxl cell so that formula-looking user text stays text."""
    value, as_text = safe_cell_value(v)
    cell.value = value
    if as_text:
        cell.data_type = "s"  # openpyxl made it a formula ("f") on assignment
        cell.quotePrefix = True
