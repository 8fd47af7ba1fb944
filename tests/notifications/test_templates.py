from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import icalendar
import pytest
from notifications_testkit import EVENT_CONTEXT, EXPECTED_EVENTS

from domain.calendar import load_campaign_config
from notifications.ics import training_ics
from notifications.templates import (
    EVENTS,
    TEMPLATES,
    TemplateError,
    config_facts,
    render,
    rule_id,
)
from storage.settings import PROJECT_ROOT

SH = dt.timezone(dt.timedelta(hours=8))


def full_context(base: dict[str, Any], event: str) -> dict[str, Any]:
    return {"recipient_name": "天津市工业和信息化局", **base, **EVENT_CONTEXT[event]}


def test_one_template_per_event() -> None:
    assert set(EVENTS) == EXPECTED_EVENTS == set(EVENT_CONTEXT)


@pytest.mark.parametrize("event", sorted(EXPECTED_EVENTS))
def test_every_template_renders_in_chinese_with_signoff(
    event: str, base_context: dict[str, Any]
) -> None:
    msg = render(event, full_context(base_context, event))
    assert msg.subject and "\n" not in msg.subject
    assert "{" not in msg.subject + msg.body and "}" not in msg.body
    assert msg.body.startswith("天津市工业和信息化局")
    assert "天津市市场监督管理委员会 质量发展处" in msg.body
    assert "27182036 58950677" in msg.body and "scjgzlfzc@tj.gov.cn" in msg.body
    assert TEMPLATES[event].rule == f"rule:{event}"


def test_facts_are_formatted_for_chinese_readers(base_context: dict[str, Any]) -> None:
    msg = render("application_reminder", full_context(base_context, "application_reminder"))
    assert msg.subject == "申报截止提醒：2025年天津市质量攻关项目申报7天后截止"
    assert "2025年4月20日 23:59" in msg.body and "截至2025年4月13日" in msg.body
    returned = render("returned", full_context(base_context, "returned"))
    assert (
        "1. “降低焊缝气孔不良率”：统一社会信用代码校验位错误\n2. 攻关目标缺少可量化指标"
        in returned.body
    )
    receipt = render("results_receipt", full_context(base_context, "results_receipt"))
    assert "\n无\n" in receipt.body  # empty list


def test_missing_key_names_template_and_key(base_context: dict[str, Any]) -> None:
    ctx = full_context(base_context, "returned")
    del ctx["returned"]
    with pytest.raises(TemplateError) as err:
        render("returned", ctx)
    assert "returned" in str(err.value) and "'returned'" in str(err.value)
    ctx = full_context(base_context, "call")
    del ctx["phone"]
    with pytest.raises(TemplateError, match="call.*'phone'"):
        render("call", ctx)
    with pytest.raises(TemplateError, match="没有事件 'nope'"):
        render("nope", {})


def test_rule_id() -> None:
    assert rule_id("application_reminder", "T-7") == "rule:application_reminder:T-7"
    assert rule_id("call") == "rule:call"


def test_campaign_context_from_config(base_context: dict[str, Any]) -> None:
    config = load_campaign_config(2025, PROJECT_ROOT / "config")
    ctx = config_facts(config)
    msg = render("call", {"recipient_name": "河西区市场监督管理局", **ctx})
    assert "2025年4月20日前" in msg.body
    assert "联系人：郭丽坤 陈莹" in msg.body


def test_training_ics(tmp_path: Path) -> None:
    args = (
        "S1",
        "2025年天津市质量攻关宣贯培训（S1场）",
        dt.datetime(2025, 6, 10, 9, tzinfo=SH),
        dt.datetime(2025, 6, 10, 17, tzinfo=SH),
        "天津市市场监管委培训中心（河西区友谊路）一号报告厅",
        "请携带项目申报书",
    )
    data = training_ics(*args)
    assert data == training_ics(*args)  # stable bytes, stable UID
    cal = icalendar.Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    assert "TZID=Asia/Shanghai" in data.decode() and cal.walk("VTIMEZONE")
    start = event.decoded("dtstart")
    assert start.hour == 9 and str(start.tzinfo) == "Asia/Shanghai"
    assert str(event["location"]).endswith("一号报告厅")
    other = training_ics("S2", *args[1:])
    assert icalendar.Calendar.from_ical(other).walk("VEVENT")[0]["uid"] != event["uid"]
    with pytest.raises(ValueError):
        training_ics("S1", "x", args[3], args[2], "y", "z")
