"""Bad command-line values and bad campaign configs: a Chinese error naming the option or the
file and key, exit code 2, no traceback, and nothing stored."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployments.cli import app
from storage.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config" / "campaign-2025.toml"


def qcamp(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def rows(url: str, table: str) -> int:
    from sqlalchemy import text

    from storage.db import engine_for, normalise_url

    with engine_for(normalise_url(url)).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def campaigns_stored(url: str) -> int:
    return rows(url, "campaigns")


@pytest.mark.parametrize(
    "value", ["yesterday", "2025-02-30", "2025/12/11", "2025-13-01", "2025-05-08T25:00"]
)
def test_a_wrong_as_of_is_refused_naming_the_formats(
    database: str, campaign_dir: Path, value: str
) -> None:
    for args in (["run", "audit", "--direct"], ["visits", "import", CONFIG]):
        code, out = qcamp(*args, "--year", 2025, "--as-of", value)
        assert code == 2, out
        assert f"--as-of 的值“{value}”不是有效的日期或时间" in out
        assert "YYYY-MM-DDTHH:MM" in out and "Asia/Shanghai" in out
    assert campaigns_stored(database) == 0


@pytest.mark.parametrize("year", [0, 1999, 2101, 99999])
def test_a_year_outside_2000_2100_is_refused(database: str, campaign_dir: Path, year: int) -> None:
    for args in (["status"], ["run", "campaign", "--direct"], ["serve"]):
        code, out = qcamp(*args, "--year", year)
        assert code == 2, out
        assert f"--year 的值 {year} 不是有效的活动年度" in out and "2000–2100" in out
    assert campaigns_stored(database) == 0


def test_the_help_documents_the_accepted_time_forms() -> None:
    result = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "400"})
    code, out = result.exit_code, result.output
    assert code == 0
    flat = re.sub(r"[\s│]+", "", out)
    assert "YYYY-MM-DDTHH:MM[:SS]" in flat and "Asia/Shanghai" in flat


def test_run_refuses_a_clock_ahead_of_the_machine_or_after_the_campaign(
    database: str, campaign_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QCAMP_SIMULATED_CLOCK", raising=False)
    code, out = qcamp("run", "campaign", "--direct", "--year", 2025, "--as-of", "2099-01-01")
    assert code == 2 and "晚于本机当前时间" in out and "QCAMP_SIMULATED_CLOCK=1" in out
    code, out = qcamp("run", "audit", "--direct", "--year", 2025, "--as-of", "2026-03-01")
    assert code == 2 and "晚于 2025 年度活动的结束时间" in out
    # Nothing of the campaign was done: no stage step, no message.
    assert rows(database, "stage_steps") == 0
    assert rows(database, "notification_records") == 0


def test_the_simulated_clock_and_offsets_are_accepted(
    database: str, campaign_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QCAMP_SIMULATED_CLOCK", "1")
    code, out = qcamp(
        "run", "application", "--direct", "--year", 2025, "--as-of", "2025-03-20T10:00:00+08:00"
    )
    assert code == 0, out
    assert "征集" in out
    code, out = qcamp("run", "audit", "--direct", "--year", 2025, "--as-of", "2025-03-21")
    assert code == 0, out


def test_a_received_time_outside_the_campaign_is_refused(database: str, campaign_dir: Path) -> None:
    code, out = qcamp(
        "objections", "add", "--year", 2025, "--project", "TJZLGG-2025-0001", "--by", "某公司",
        "--content", "雷同", "--received", "1999-01-01",
    )  # fmt: skip
    assert code == 2 and "--received 的值“1999-01-01”不在 2025 年度活动期内" in out
    code, out = qcamp(
        "objections", "add", "--year", 2025, "--project", "TJZLGG-2025-0001", "--by", "某公司",
        "--content", "雷同", "--received", "2099-01-01",
    )  # fmt: skip
    assert code == 2 and "晚于本机当前时间" in out


def test_no_received_time_can_be_typed_for_a_batch(database: str, campaign_dir: Path) -> None:
    """A batch's received time is its files' arrival: `--received-at` is no option any more."""
    code, out = qcamp(
        "intake", CONFIG, "--year", 2025, "--unit", "U01", "--received-at", "2025-04-01T10:00"
    )
    assert code == 2 and "--received-at" in out
    code, out = qcamp("results", "submit", "TJZLGG-2025-0001", "--year", 2025,
                      "--report", "r.pdf", "--as-of", "2025-09-01")  # fmt: skip
    assert code == 2 and "送达时间即登记时间" in out


@pytest.mark.parametrize(
    "url, said",
    [
        ("foo://x", "不是支持的数据库地址"),
        ("mysql://root@localhost/qcamp", "不是支持的数据库地址"),
        ("postgresql://nobody:secret@127.0.0.1:1/qcamp", "无法连接或打开数据库"),
    ],
)
def test_an_unusable_database_url_names_the_variable_and_the_fix(
    campaign_dir: Path, monkeypatch: pytest.MonkeyPatch, url: str, said: str
) -> None:
    monkeypatch.setenv("QCAMP_DATABASE_URL", url)
    for args in (["status", "--year", 2025], ["db", "upgrade"]):
        code, out = qcamp(*args)
        assert code == 2, out
        assert said in out and "QCAMP_DATABASE_URL" in out and "postgresql://用户名@主机" in out
        assert "secret" not in out


# -- the campaign config ------------------------------------------------------------------------
def config_dir_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    text = CONFIG.read_text(encoding="utf-8")
    assert old in text
    (folder / "campaign-2025.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    monkeypatch.setenv("QCAMP_CONFIG_DIR", str(folder))
    return folder


BAD_CONFIGS = [
    ('audit = "2025-05-08T09:00:00"', 'audit = "2025-13-08T09:00:00"', "[calendar] audit"),
    ('checkins_end = "2025-08-31"', 'checkins_end = "2025-02-30"', "[calendar] checkins_end"),
    (
        'application_deadline = "2025-04-20T23:59:59"',
        'application_deadline = "2025-03-01T23:59:59"',
        "application_deadline（2025-03-01 23:59:59+08:00）应晚于 call_published",
    ),
    ('audit = "2025-05-08T09:00:00"', 'audit = "2025-04-10T09:00:00"', "audit（"),
    ("reminder_days = [14, 7, 3, 1]", "reminder_days = [14, -7]", "[rules] reminder_days 第2项"),
    ("panel_min_size = 5", "panel_min_size = 0", "[rules] panel_min_size：应不小于 1"),
    ("checkin_due_days = 10", "checkin_due_days = -1", "[rules] checkin_due_days：应大于 0"),
    ("capacity = 400", "capacity = 0", "[[training.sessions]] 第1个 capacity：应大于 0"),
    ("panel_min_size = 5", "panel_min_sise = 5", "[rules] panel_min_sise：不是可识别的配置项"),
    ('title = "2025年天津市质量攻关"', 'title = "2025年天津市质量攻关', "第 4 行"),
    # a rubric whose points do not add up to its total; one kind twice; a wrong ranking scope
    (
        "points = 15\n",
        "points = 25\n",
        "[[rubrics]] 第1个：问题解决型评分标准各评分项 points 之和为 110 分",
    ),
    ('kind = "创新型"', 'kind = "问题解决型"', "rubrics：课题类型 问题解决型 有不止一套评分标准"),
    (
        'key = "effect"\nname',
        'key = "benefit"\nname',
        '[[rubrics]] 第1个：问题解决型评分标准缺少 key = "effect"',
    ),
    ('ranking = "overall"', 'ranking = "all"', "[rules] ranking：应为以下之一"),
]


@pytest.mark.parametrize("old, new, said", BAD_CONFIGS)
def test_a_wrong_config_names_the_file_the_key_and_the_fix(
    database: str,
    campaign_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    old: str,
    new: str,
    said: str,
) -> None:
    folder = config_dir_with(tmp_path, monkeypatch, old, new)
    for args in (["status", "--year", 2025], ["run", "campaign", "--direct", "--year", 2025]):
        code, out = qcamp(*args)
        assert code == 2, out
        flat = out.replace("\n", "")
        assert str(folder / "campaign-2025.toml") in flat
        assert said in flat
        assert "请" in flat  # the fix
    assert campaigns_stored(database) == 0


def test_a_year_without_its_own_file_names_campaign_init(
    database: str, campaign_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(CONFIG, folder / "campaign-2025.toml")
    monkeypatch.setenv("QCAMP_CONFIG_DIR", str(folder))
    code, out = qcamp("status", "--year", 2027, "--json")
    assert code == 2, out
    assert "qcamp campaign init --year 2027" in out.replace("\n", "")
    assert campaigns_stored(database) == 0
