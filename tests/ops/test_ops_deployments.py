"""Deployments as built for `qcamp serve`, `prefect.yaml`, and `qcamp run` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from prefect import flow
from typer.testing import CliRunner

from deployments import cli_ops
from deployments.serve import (
    CAMPAIGN_CRON,
    ENTRYPOINTS,
    SERVED,
    TIMEZONE,
    build_deployments,
    current_year,
    default_parameters,
)
from flows.stages import STAGE_FLOWS

REPO = Path(__file__).resolve().parents[2]


def test_entrypoints_cover_the_campaign_and_every_stage() -> None:
    assert set(ENTRYPOINTS) == {"campaign", *STAGE_FLOWS}
    for key, stage_flow in STAGE_FLOWS.items():
        assert cli_ops.load_flow(key) is stage_flow


def test_built_deployments_carry_year_tags_and_the_campaign_schedule() -> None:
    deployments = {d.name: d for d in build_deployments(2025)}
    assert len(deployments) == 11
    assert deployments["qcamp-2025-mailbox"].schedules in (None, [])  # a past year: no schedule
    year = current_year()
    built = {d.name: d for d in build_deployments(year, ["campaign", "mailbox"])}
    [poll] = built[f"qcamp-{year}-mailbox"].schedules
    assert poll.schedule.cron == "*/10 * * * *" and poll.schedule.timezone == TIMEZONE
    campaign = built[f"qcamp-{year}-campaign"]
    assert campaign.entrypoint == "flows/campaign.py:annual_campaign"
    [schedule] = campaign.schedules
    assert schedule.schedule.cron == CAMPAIGN_CRON
    assert schedule.schedule.timezone == TIMEZONE
    follow_up = deployments["qcamp-2025-follow-up"]
    assert follow_up.parameters == {"year": 2025}
    assert {"year-2025", "stage-follow-up"} <= set(follow_up.tags)
    assert follow_up.schedules == []


def test_a_past_year_is_served_without_a_schedule() -> None:
    """A daily run of a year long over would do every overdue stage "now": never scheduled."""
    this_year = current_year()
    [past] = build_deployments(this_year - 1, ["campaign"])
    assert past.schedules == []
    [now] = build_deployments(this_year, ["campaign"])
    assert [s.schedule.cron for s in now.schedules] == [CAMPAIGN_CRON]


def test_prefect_yaml_matches_the_served_deployments() -> None:
    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    entries = {d["entrypoint"]: d for d in config["deployments"]}
    expected = {e.replace(".", "/", 1).replace(":", ".py:", 1) for e in SERVED.values()}
    assert set(entries) == expected
    year = config["definitions"]["year"]
    for entry in entries.values():
        assert entry["work_pool"]["name"] == "qcamp-pool"
        key = entry["name"].removeprefix("qcamp-").replace("-", "_")
        assert entry["parameters"] == default_parameters(key, year), key
        assert f"year-{year}" in entry["tags"]
    [schedule] = entries["flows/campaign.py:annual_campaign"]["schedules"]
    assert schedule == {"cron": CAMPAIGN_CRON, "timezone": TIMEZONE, "active": True}


def test_stage_names_resolve_in_english_and_chinese() -> None:
    assert cli_ops.resolve_stage("follow-up") == "follow_up"
    assert cli_ops.resolve_stage("公示公布") == "publicity"
    with pytest.raises(typer.BadParameter):
        cli_ops.resolve_stage("nonsense")


def cli() -> typer.Typer:
    app = typer.Typer()
    cli_ops.register(app)
    return app


def test_qcamp_run_prints_the_outcome_in_chinese(
    prefect_api: None, database: str, campaign_dir: Path
) -> None:
    result = CliRunner().invoke(
        cli(), ["run", "立项审核", "--year", "2025", "--as-of", "2025-03-01"]
    )
    assert result.exit_code == 0, result.output
    assert "## 立项审核（截至 2025-03-01 23:59）" in result.output


def test_qcamp_run_failure_exits_nonzero_with_the_rerun_command(
    prefect_api: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    @flow
    def broken(year: int, as_of: str | None = None) -> None:
        raise RuntimeError("数据库不可用")

    monkeypatch.setattr(cli_ops, "load_flow", lambda key: broken)
    result = CliRunner().invoke(cli(), ["run", "audit", "--year", "2025"])
    assert result.exit_code == 1
    assert "运行失败：RuntimeError: 数据库不可用" in result.output
    assert "qcamp run audit --year 2025" in result.output
