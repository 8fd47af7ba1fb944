"""Hostile and broken files are refused before parsing, with a Chinese message a unit can act on."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from documents.application_form import read_form, write_blank_form
from documents.safety import (
    FILE_TOO_LARGE,
    FILE_UNREADABLE,
    BatchLimits,
    UnreadableFile,
    check_bytes,
    check_file,
    iter_batch,
    safe_cell_value,
    safe_open_zip,
    write_cell_safely,
)
from documents.summary_table import read_summary, write_blank_summary

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.fixture(scope="module")
def good_docx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_blank_form(tmp_path_factory.mktemp("good") / "good.docx").read_bytes()


def _refusal(path: Path, **limits: int) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as err:
        check_file(path, **limits)
    assert path.name in err.value.message  # names the file
    return err.value


def _rewrite(
    docx_bytes: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_bytes)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def test_good_files_pass(tmp_path: Path, good_docx: bytes) -> None:
    (tmp_path / "ok.docx").write_bytes(good_docx)
    check_file(tmp_path / "ok.docx")
    check_file(write_blank_summary(tmp_path / "ok.xlsx"))


def test_too_large_on_disk(tmp_path: Path, good_docx: bytes) -> None:
    path = tmp_path / "大文件.docx"
    path.write_bytes(good_docx)
    err = _refusal(path, max_bytes=1024)
    assert err.code == FILE_TOO_LARGE
    assert "上限" in err.message and "压缩图片" in err.message


def test_zip_bomb_over_the_decompressed_cap(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/media/image1.png", "w") as fh:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(110):  # 110 MB of zeros, ~110 kB on disk
                fh.write(chunk)
    assert path.stat().st_size < 1024 * 1024
    err = _refusal(path)
    assert err.code == FILE_TOO_LARGE
    assert "压缩炸弹" in err.message


def test_zip_bomb_by_ratio(tmp_path: Path) -> None:
    path = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))  # ~1000:1
    err = _refusal(path)
    assert err.code == FILE_TOO_LARGE and "压缩比" in err.message


def test_lying_sizes_are_caught_while_decompressing(tmp_path: Path) -> None:
    """Headers claiming a small size do not help: real bytes are counted."""
    payload = b"\0" * (3 * 1024 * 1024)
    with pytest.raises(UnreadableFile) as err:
        check_bytes(
            _rewrite(_minimal_ooxml(), {}, {"word/media/big.bin": payload}),
            "x.docx",
            max_uncompressed=2 * 1024 * 1024,
            max_ratio=10**9,
        )
    assert err.value.code == FILE_TOO_LARGE


def _minimal_ooxml() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    return out.getvalue()


def test_macro_files_are_refused(tmp_path: Path, good_docx: bytes) -> None:
    docm = tmp_path / "带宏.docm"
    docm.write_bytes(good_docx)
    err = _refusal(docm)
    assert err.code == FILE_UNREADABLE and "宏" in err.message and ".docx" in err.message

    hidden = tmp_path / "改了扩展名.docx"
    hidden.write_bytes(_rewrite(good_docx, {}, {"word/vbaProject.bin": b"\x01VBA"}))
    err = _refusal(hidden)
    assert err.code == FILE_UNREADABLE and "宏" in err.message


def test_encrypted_office_file_is_refused(tmp_path: Path) -> None:
    """A password-protected .docx is an OLE2 compound file, not a zip."""
    body = CFB_MAGIC + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 1000
    path = tmp_path / "加密.docx"
    path.write_bytes(body)
    err = _refusal(path)
    assert err.code == FILE_UNREADABLE
    assert "密码" in err.message and ".docx" in err.message
    with pytest.raises(UnreadableFile):
        read_form(path)


def test_old_doc_and_xls_are_told_to_save_as(tmp_path: Path) -> None:
    for name, target in (("旧版.doc", ".docx"), ("旧版.xls", ".xlsx")):
        path = tmp_path / name
        path.write_bytes(CFB_MAGIC + b"\0" * 2000)
        err = _refusal(path)
        assert err.code == FILE_UNREADABLE
        assert "另存为" in err.message and target in err.message


def test_truncated_docx(tmp_path: Path, good_docx: bytes) -> None:
    path = tmp_path / "半截.docx"
    path.write_bytes(good_docx[: len(good_docx) // 2])
    err = _refusal(path)
    assert err.code == FILE_UNREADABLE
    assert "文件不完整或已损坏，请重新保存后提交" in err.message


def test_corrupt_member_is_caught_by_crc(tmp_path: Path, good_docx: bytes) -> None:
    data = bytearray(good_docx)
    with zipfile.ZipFile(io.BytesIO(good_docx)) as zf:
        info = zf.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    data[start : start + 20] = b"\xff" * 20
    path = tmp_path / "坏.docx"
    path.write_bytes(bytes(data))
    assert _refusal(path).code == FILE_UNREADABLE


def test_xml_entity_declaration_is_refused_never_resolved(tmp_path: Path, good_docx: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(good_docx)) as zf:
        xml = zf.read("word/document.xml")
    head, rest = xml.split(b"?>", 1)
    evil = (
        head
        + b'?><!DOCTYPE w:document [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        + rest.replace("项目名称".encode(), b"&lol2;", 1)
    )
    path = tmp_path / "实体.docx"
    path.write_bytes(_rewrite(good_docx, {"word/document.xml": evil}))
    err = _refusal(path)
    assert err.code == FILE_UNREADABLE and "DOCTYPE/ENTITY" in err.message
    with pytest.raises(UnreadableFile):
        read_form(path)


def test_entity_in_a_utf16_part_is_refused(good_docx: bytes) -> None:
    evil = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x/>'.encode(
        "utf-16-le"
    )
    with pytest.raises(UnreadableFile) as err:
        check_bytes(_rewrite(good_docx, {}, {"docProps/custom.xml": evil}), "u.docx")
    assert err.value.code == FILE_UNREADABLE


def test_renamed_and_empty_files(tmp_path: Path) -> None:
    fake = tmp_path / "假的.xlsx"
    fake.write_text("序号,项目名称\n1,x\n", encoding="utf-8")
    err = _refusal(fake)
    assert err.code == FILE_UNREADABLE and "另存为" in err.message
    with pytest.raises(UnreadableFile):
        read_summary(fake)

    empty = tmp_path / "空.docx"
    empty.write_bytes(b"")
    assert _refusal(empty).code == FILE_UNREADABLE

    exe = tmp_path / "病毒.exe"
    exe.write_bytes(b"MZ")
    assert "不受支持" in _refusal(exe).message


def test_safe_open_zip_checks_first(tmp_path: Path, good_docx: bytes) -> None:
    path = tmp_path / "ok.docx"
    path.write_bytes(good_docx)
    with safe_open_zip(path) as zf:
        assert "word/document.xml" in zf.namelist()
    with pytest.raises(UnreadableFile):
        safe_open_zip(good_docx[:100], name="cut.zip")


# ---------------------------------------------------------------------------------------------
# batches


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_iter_batch_expands_folders_and_zips(tmp_path: Path, good_docx: bytes) -> None:
    xlsx = write_blank_summary(tmp_path / "汇总表.xlsx").read_bytes()
    folder = tmp_path / "滨海新区"
    (folder / "子目录").mkdir(parents=True)
    (folder / "申报书1.docx").write_bytes(good_docx)
    (folder / "子目录" / "申报书2.docx").write_bytes(good_docx[:500])  # truncated
    (folder / "~$申报书1.docx").write_bytes(b"lock")  # Word's lock file: skipped
    (folder / ".DS_Store").write_bytes(b"junk")
    deep = _zip({"c.zip": _zip({"d.docx": good_docx})})
    (folder / "批次.zip").write_bytes(
        _zip(
            {
                "批次/汇总表.xlsx": xlsx,
                "批次/申报书3.docx": good_docx,
                "../../逃逸.docx": good_docx,
                "__MACOSX/批次/._申报书3.docx": b"junk",
                "内层.zip": _zip({"申报书4.docx": good_docx}),
                "太深.zip": deep,
            }
        )
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    items = list(iter_batch([folder], workdir=workdir))
    by_name = {i.name: i for i in items}

    ok = sorted(n for n, i in by_name.items() if i.error is None)
    assert ok == [
        "滨海新区/批次.zip/内层.zip/申报书4.docx",
        "滨海新区/批次.zip/批次/汇总表.xlsx",
        "滨海新区/批次.zip/批次/申报书3.docx",
        "滨海新区/申报书1.docx",
    ]
    for name in ok:
        item = by_name[name]
        assert item.path is not None and item.path.read_bytes() == item.data
    # members of a zip land flat inside workdir; files on disk are used where they are
    assert by_name["滨海新区/批次.zip/批次/申报书3.docx"].path.parent == workdir
    assert by_name["滨海新区/申报书1.docx"].path == folder / "申报书1.docx"
    assert read_summary(by_name["滨海新区/批次.zip/批次/汇总表.xlsx"].path) == []

    truncated = by_name["滨海新区/子目录/申报书2.docx"]
    assert truncated.error.code == FILE_UNREADABLE and "不完整" in truncated.error.message
    traversal = next(i for i in items if "逃逸" in i.name)
    assert traversal.error is not None and "路径异常" in traversal.error.message
    assert not (tmp_path / "逃逸.docx").exists()
    too_deep = next(i for i in items if "太深" in i.name)
    assert too_deep.error is not None and "嵌套" in too_deep.error.message
    assert not any("~$" in n or "DS_Store" in n or "MACOSX" in n for n in by_name)


def test_batch_zip_bomb_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "炸弹.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.docx", b"\0" * (4 * 1024 * 1024))
    items = list(iter_batch([path], limits=BatchLimits(max_batch_uncompressed=1024 * 1024)))
    assert len(items) == 1 and items[0].error is not None
    assert items[0].error.code == FILE_TOO_LARGE and "炸弹.zip" in items[0].error.message


# ---------------------------------------------------------------------------------------------
# Excel cells


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", ("=1+1", True)),
        ("+1", ("+1", True)),
        ("-1", ("-1", True)),
        ("@A1", ("@A1", True)),
        ("降低不良率", ("降低不良率", False)),
        ("", (None, False)),
        (None, (None, False)),
        (12, (12, False)),
    ],
)
def test_safe_cell_value(value: object, expected: tuple[object, bool]) -> None:
    assert safe_cell_value(value) == expected


def test_write_cell_safely_keeps_text(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    write_cell_safely(wb.active["A1"], "=cmd|' /C calc'!A0")
    path = tmp_path / "x.xlsx"
    wb.save(path)
    cell = openpyxl.load_workbook(path).active["A1"]
    assert (cell.value, cell.data_type) == ("=cmd|' /C calc'!A0", "s")
