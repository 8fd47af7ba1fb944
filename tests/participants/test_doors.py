"""The doors the simulated participants use besides the stage commands: `qcamp checkins import`
(received time from the file), `qcamp results import` (material as files) and `qcamp status`
(read only); and what the simulation itself reads (the outbox's messages)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployments.cli import app
from domain.calendar import SHANGHAI

pytestmark = pytest.mark.usefixtures("database", "campaign_dir")


def qcamp(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_status_is_read_only_and_tells_the_calendar() -> None:
    code, printed = qcamp("status", "--year", 2025, "--json")
    assert code == 0
    status = json.loads(printed)
    assert status["config"]["year"] == 2025 and status["config"]["calendar"]["audit"]
    assert status["batches"] == {"total": 0, "late": 0, "superseded": 0, "refused": 0}
    assert status["applications"] == 0
    code, printed = qcamp("status", "--year", 2025)
    assert code == 0 and "收到报送批次 0 个" in printed and "各阶段进度" in printed


def test_checkins_import_names_a_missing_file(tmp_path: Path) -> None:
    code, printed = qcamp("checkins", "import", tmp_path / "无此文件.xlsx", "--year", 2025)
    assert code == 2 and "找不到文件" in printed


def test_results_import_wants_plan_number_and_part_in_the_name(tmp_path: Path) -> None:
    loose = tmp_path / "成果报告.pdf"
    loose.write_bytes(b"%PDF-1.4\n")
    code, printed = qcamp("results", "import", loose, "--year", 2025)
    assert code == 2 and "计划编号_材料类别" in printed
    unknown = tmp_path / "TJZLGG-2025-9999_成果报告.pdf"
    unknown.write_bytes(b"%PDF-1.4\n")
    code, printed = qcamp("results", "import", unknown, "--year", 2025)
    assert code == 2 and "TJZLGG-2025-9999" in printed


def test_received_time_is_the_files_modification_time(tmp_path: Path) -> None:
    import os

    from documents.inbox import arrived_at

    path = tmp_path / "进度报告_TJZLGG-2025-0001.xlsx"
    path.write_bytes(b"")
    when = dt.datetime(2025, 7, 9, 10, 0, tzinfo=SHANGHAI)
    os.utime(path, (when.timestamp(), when.timestamp()))
    assert arrived_at(path) == when
