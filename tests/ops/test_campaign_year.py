"""A new year, as staff notice it: `qcamp campaign init --year 2026` writes a calendar on working
days with the same weekdays and nothing of 2025 left, lists what to review, and a year with no
holiday data (2027) warns loudly until `[holidays]` / `[workdays]` cover it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import chinese_calendar
import pytest

from domain.calendar import CALENDAR_ORDER, load_campaign_config
from domain.campaign_year import MONTH_KEYS
from domain.workdays import is_working_day
from tests.ops.test_cli_validation import CONFIG, campaigns_stored, qcamp


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(CONFIG, folder / "campaign-2025.toml")
    monkeypatch.setenv("QCAMP_CONFIG_DIR", str(folder))
    return folder


def _days(config) -> dict[str, dt.date]:  # noqa: ANN001
    points = {k: getattr(config.calendar, k) for k in CALENDAR_ORDER}
    for n, s in enumerate(config.training_sessions):
        points[f"session{n}"] = s.starts_at
    return {k: v.date() if isinstance(v, dt.datetime) else v for k, v in points.items()}


def test_init_2026_moves_every_date_onto_a_working_day(config_dir: Path) -> None:
    code, out = qcamp("campaign", "init", "--year", 2026)
    assert code == 0, out
    text = (config_dir / "campaign-2026.toml").read_text(encoding="utf-8")
    assert "2025" not in text  # no date, meeting number or 文号 of 2025 is left
    assert "会议号 □" in text and "〔2026〕□号" in text
    assert "请填写 2026 年的新会议号" in out and "请填写 2026 年的文号" in out
    old = _days(load_campaign_config(2025, config_dir))
    new = _days(load_campaign_config(2026, config_dir))
    for key, day in new.items():
        assert day.year == 2026, key
        if key in MONTH_KEYS:
            assert (day.month, day.day) == (old[key].month, old[key].day)
            continue
        assert chinese_calendar.is_workday(day), f"{key} {day} is not a working day"
        moved = [line for line in out.splitlines() if f"] {key}：" in line and "请核对" in line]
        if not moved:  # else the review list says why it moved further
            assert day == old[key] + dt.timedelta(weeks=52), key
    # the scores are due on a Friday again, not on Saturday 24 October 2026
    assert new["scores_due"] == dt.date(2026, 10, 23)
    assert "results_window_opens" in out and "已改到其后的第一个工作日 2026-09-01" in out
    code, out = qcamp("campaign", "init", "--year", 2026)
    assert code == 2 and "--force" in out  # a reviewed file is not overwritten by mistake


def test_running_a_year_without_its_file_names_the_command(
    database: str, campaign_dir: Path, config_dir: Path
) -> None:
    code, out = qcamp("run", "campaign", "--direct", "--year", 2026)
    assert code == 2, out
    assert "qcamp campaign init --year 2026" in out.replace("\n", "")
    assert campaigns_stored(database) == 0


def test_2027_without_holiday_data_warns_until_the_config_declares_them(
    database: str, campaign_dir: Path, config_dir: Path
) -> None:
    code, out = qcamp("campaign", "init", "--year", 2027)
    assert code == 0, out
    assert "警告：2027年的法定节假日和调休安排尚无数据" in out
    code, out = qcamp("status", "--year", 2027)
    assert code == 0, out
    assert "警告：2027年的法定节假日和调休安排尚无数据" in out
    path = config_dir / "campaign-2027.toml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[holidays]\n2027-10-01 = "国庆节"\n2027-10-04 = "国庆节"\n'
        + '\n[workdays]\n2027-09-26 = "国庆节调休"\n',
        encoding="utf-8",
    )
    code, out = qcamp("status", "--year", 2027)
    assert code == 0, out
    assert "警告" not in out
    assert not is_working_day(dt.date(2027, 10, 4))  # a Monday off
    assert is_working_day(dt.date(2027, 9, 26))  # a Sunday worked
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    bad = path.read_text(encoding="utf-8").replace('2027-10-04 = "国庆节"', '2027-13-04 = "国庆节"')
    path.write_text(bad, encoding="utf-8")
    code, out = qcamp("status", "--year", 2027)
    assert code == 2 and "[holidays] 2027-13-04：不是有效日期" in out.replace("\n", "")
