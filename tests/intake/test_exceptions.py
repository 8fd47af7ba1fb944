"""No back-dating, closed stages and 截止后例外: what a unit hands in after the application
deadline is refused and changes nothing the stage accepted, unless staff granted that unit an
exception (recorded, shown, revocable); every change records who made it; the call waits for
units and reaches the ones registered after it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from deployments.cli import app
from domain.calendar import SHANGHAI
from services.application import CALL_NO_UNITS, close_applications, publish_call
from services.audit import audit_workbook_path, write_audit
from services.context import open_campaign
from services.exceptions import ExceptionError, grant, list_exceptions, revoke
from services.intake import intake_batch
from services.progress import progress_markdown
from services.registry import import_units
from storage import orm
from storage.uow import UnitOfWork
from tests.intake.test_intake import (
    ON_TIME,
    arrive,
    fix_uscc,
    good_form,
    register_units,
    write_batch,
)

pytestmark = pytest.mark.usefixtures("database", "campaign_dir")

AFTER_CLOSE = dt.datetime(2025, 12, 4, 10, 0, tzinfo=SHANGHAI)  # typed in on 4 December
LATE = dt.datetime(2025, 4, 22, 9, 0, tzinfo=SHANGHAI)
UNTIL = dt.datetime(2025, 4, 25, 18, 0, tzinfo=SHANGHAI)


@pytest.fixture
def units(tmp_path: Path) -> None:
    register_units(tmp_path)


def current(unit: str) -> list[tuple[str, str]]:
    """The unit's current applications: (title, state)."""
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(orm.Application.title, orm.Application.state)
            .join(orm.RecommendingUnit)
            .where(orm.RecommendingUnit.code == unit, orm.Application.is_current.is_(True))
            .order_by(orm.Application.id)
        )
        return [(t, s) for t, s in rows]


def events(event: str) -> list[str]:
    with UnitOfWork() as uow:
        return [
            n.recipient_key
            for n in uow.session.scalars(
                select(orm.NotificationRecord).where(orm.NotificationRecord.event == event)
            )
        ]


def actors() -> set[str]:
    with UnitOfWork() as uow:
        return set(uow.session.scalars(select(orm.StateChange.actor)))


def accepted_on_time(tmp_path: Path) -> None:
    """ASSN-HJXH's batch of two forms, on time, accepted."""
    ctx = open_campaign(2025, ON_TIME)
    batch = write_batch(tmp_path / "v1", [fix_uscc(good_form(0)), fix_uscc(good_form(1))])
    result = intake_batch(UnitOfWork(), ctx, "ASSN-HJXH", [batch], received_at=ON_TIME)
    assert result.batch.accepted == 2


def test_a_back_dated_batch_typed_after_the_stage_closed_changes_nothing_accepted(
    units, tmp_path: Path
) -> None:
    accepted_on_time(tmp_path)
    before = current("ASSN-HJXH")
    close_applications(UnitOfWork(), open_campaign(2025, "2025-04-21T09:00"))
    # A blank form whose file claims to have arrived in April, typed in on 4 December.
    blank = write_batch(tmp_path / "v2", [good_form(2, title="", goal="")])
    result = intake_batch(
        UnitOfWork(), open_campaign(2025, AFTER_CLOSE), "ASSN-HJXH", [blank], received_at=ON_TIME
    )
    assert result.batch.status == "late" and result.batch.received_at == AFTER_CLOSE
    assert any("不予受理" in f.message for f in result.batch.findings)
    assert current("ASSN-HJXH") == before == [(t, "accepted") for t, _s in before]
    assert events("late_batch") == ["ru:ASSN-HJXH"]


def test_the_intake_command_takes_the_files_arrival_and_the_operator(
    units, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    batch = arrive(ON_TIME, write_batch(tmp_path / "v1", [fix_uscc(good_form(0))]))[0]
    out = runner.invoke(
        app, ["intake", "--year", "2025", "--unit", "ASSN-HJXH", "--by", "孙丽", str(batch)]
    )
    assert out.exit_code == 0 and "受理1项" in out.output, out.output
    with UnitOfWork() as uow:
        received = uow.session.scalar(select(orm.SubmissionBatch.received_at))
    assert received == ON_TIME
    assert actors() == {"孙丽"}
    monkeypatch.setenv("QCAMP_OPERATOR", "周强")
    other = arrive(ON_TIME, write_batch(tmp_path / "v2", [fix_uscc(good_form(1))]))[0]
    out = runner.invoke(app, ["intake", "--year", "2025", "--unit", "DIST-16", str(other)])
    assert out.exit_code == 0, out.output
    assert actors() == {"孙丽", "周强"}


def test_an_exception_lets_exactly_that_unit_in_until_its_time(units, tmp_path: Path) -> None:
    accepted_on_time(tmp_path)
    close_applications(UnitOfWork(), open_campaign(2025, "2025-04-21T09:00"))
    ctx = open_campaign(2025, "2025-04-21T10:00")
    granted = grant(
        UnitOfWork(), ctx, "ASSN-HJXH", "application", UNTIL, by="钱处长", reason="系统故障"
    )
    late_ctx = open_campaign(2025, LATE)
    extra = write_batch(tmp_path / "v2", [fix_uscc(good_form(2))])
    taken = intake_batch(UnitOfWork(), late_ctx, "ASSN-HJXH", [extra], received_at=LATE)
    assert taken.batch.status == "received" and taken.batch.exception_id == granted.id
    assert any(f"例外#{granted.id}" in f.message for f in taken.batch.findings)
    assert [s for _t, s in current("ASSN-HJXH")] == ["accepted"] * 3  # nothing superseded
    assert events("receipt") == ["ru:ASSN-HJXH"] * 2
    # another unit, the same day: no exception, refused
    other = write_batch(tmp_path / "o", [fix_uscc(good_form(0))])
    refused = intake_batch(UnitOfWork(), late_ctx, "DIST-16", [other], received_at=LATE)
    assert refused.batch.status == "late" and current("DIST-16") == []
    # the same unit after the exception's time: refused
    after = open_campaign(2025, UNTIL + dt.timedelta(hours=1))
    v3 = write_batch(tmp_path / "v3", [fix_uscc(good_form(1, title="缩短焊丝交付周期"))])
    too_late = intake_batch(UnitOfWork(), after, "ASSN-HJXH", [v3], received_at=after.now)
    assert too_late.batch.status == "late" and too_late.batch.exception_id is None
    assert len(current("ASSN-HJXH")) == 3


def test_a_revoked_exception_covers_nothing_more_and_both_are_shown(units, tmp_path: Path) -> None:
    accepted_on_time(tmp_path)
    ctx = open_campaign(2025, "2025-04-21T10:00")
    granted = grant(
        UnitOfWork(), ctx, "ASSN-HJXH", "application", UNTIL, by="钱处长", reason="系统故障"
    )
    revoke(UnitOfWork(), ctx, granted.id, by="李主任", reason="已按时报送，无需例外")
    extra = write_batch(tmp_path / "v2", [fix_uscc(good_form(2))])
    late = intake_batch(
        UnitOfWork(), open_campaign(2025, LATE), "ASSN-HJXH", [extra], received_at=LATE
    )
    assert late.batch.status == "late"
    [shown] = list_exceptions(UnitOfWork(), ctx)
    assert shown.revoked and shown.revoked_by == "李主任" and shown.granted_by == "钱处长"
    page = progress_markdown(UnitOfWork(), open_campaign(2025, LATE))
    assert "截止后例外" in page and "系统故障" in page and "已撤销（李主任" in page
    with pytest.raises(ExceptionError, match="已于此前被李主任撤销"):
        revoke(UnitOfWork(), ctx, granted.id, by="李主任", reason="再次")


def test_the_audit_workbook_shows_exceptions_and_the_batch_taken_under_one(
    units, tmp_path: Path
) -> None:
    accepted_on_time(tmp_path)
    ctx = open_campaign(2025, "2025-04-21T10:00")
    granted = grant(
        UnitOfWork(), ctx, "ASSN-HJXH", "application", UNTIL, by="钱处长", reason="系统故障"
    )
    extra = write_batch(tmp_path / "v2", [fix_uscc(good_form(2))])
    intake_batch(UnitOfWork(), open_campaign(2025, LATE), "ASSN-HJXH", [extra], received_at=LATE)
    write_audit(UnitOfWork(), open_campaign(2025, "2025-05-08T10:00"))
    wb = load_workbook(audit_workbook_path(open_campaign(2025, "2025-05-08T10:00")))
    sheet = wb["截止后例外"]
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert granted.id in values and "钱处长" in values and "系统故障" in values
    findings = [str(c.value) for c in wb.active["I"]]
    assert sum(f"依据截止后例外#{granted.id}受理" in f for f in findings) == 1


def test_the_exceptions_commands_record_list_and_refuse_bad_input(units) -> None:
    runner = CliRunner()
    base = ["exceptions", "grant", "--year", "2025", "--unit", "ASSN-HJXH"]
    ok = runner.invoke(
        app,
        [
            *base,
            "--stage",
            "results",
            "--until",
            "2025-10-08",
            "--by",
            "钱处长",
            "--reason",
            "水灾",
        ],
    )
    assert ok.exit_code == 0 and "例外#1" in ok.output, ok.output
    for args, said in [
        (["--stage", "audit", "--until", "2025-10-08"], "--stage 的值“audit”不对"),
        (["--stage", "results", "--until", "2025-09-01"], "不晚于该阶段截止时间"),
        (["--stage", "results", "--until", "下周"], "--until 的值“下周”不是有效的日期或时间"),
    ]:
        bad = runner.invoke(app, [*base, *args, "--by", "钱处长", "--reason", "水灾"])
        assert bad.exit_code == 2 and said in bad.output, bad.output
    unknown = runner.invoke(
        app,
        ["exceptions", "grant", "--year", "2025", "--unit", "NOPE", "--stage", "results",
         "--until", "2025-10-08", "--reason", "水灾"],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "未登记" in unknown.output
    listed = runner.invoke(app, ["exceptions", "list", "--year", "2025", "--json"])
    assert '"granted_by": "钱处长"' in listed.output and '"stage": "results"' in listed.output
    gone = runner.invoke(
        app, ["exceptions", "revoke", "1", "--year", "2025", "--by", "李主任", "--reason", "误批"]
    )
    assert gone.exit_code == 0 and "已由李主任撤销" in gone.output
    missing = runner.invoke(
        app, ["exceptions", "revoke", "9", "--year", "2025", "--by", "李主任", "--reason", "误批"]
    )
    assert missing.exit_code == 2 and "没有编号为 9 的例外" in missing.output


def test_the_call_waits_for_units_and_reaches_units_registered_after_it(tmp_path: Path) -> None:
    ctx = open_campaign(2025, "2025-03-20T10:00")
    waiting = publish_call(UnitOfWork(), ctx)
    assert waiting.waiting == [CALL_NO_UNITS] and not waiting.done
    with UnitOfWork() as uow:
        assert not uow.repo.step_done(ctx.campaign_id, "application", "call")
    register_units(tmp_path)
    first = publish_call(UnitOfWork(), open_campaign(2025, "2025-03-21T10:00"))
    assert first.done == ["发布征集通知，寄送空白申报书和汇总表给2个推荐单位"]
    wb = Workbook()
    wb.active.append(["单位代码", "单位名称", "类型", "联系人", "电话", "邮箱"])
    wb.active.append(
        ["CITY-GX", "天津市工业和信息化局", "市级行业主管部门", "吴", "022", "gx@e.cn"]
    )
    wb.save(tmp_path / "more.xlsx")
    import_units(UnitOfWork(), tmp_path / "more.xlsx")
    later = publish_call(UnitOfWork(), open_campaign(2025, "2025-04-01T10:00"))
    assert later.done == ["向新登记的1个推荐单位补发征集通知和空白表格"]
    assert sorted(events("call")) == ["ru:ASSN-HJXH", "ru:CITY-GX", "ru:DIST-16"]
    assert publish_call(UnitOfWork(), open_campaign(2025, "2025-04-02T10:00")).done == []


def test_register_imports_record_the_operator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_units(tmp_path)  # a service call without an operator: "system"
    runner = CliRunner()
    out = runner.invoke(app, ["units", "import", str(tmp_path / "units.xlsx"), "--by", "孙丽"])
    assert out.exit_code == 0, out.output
    monkeypatch.setenv("QCAMP_OPERATOR", "周强")
    out = runner.invoke(app, ["units", "import", str(tmp_path / "units.xlsx")])
    assert out.exit_code == 0, out.output
    with UnitOfWork() as uow:
        logged = [(a.action, a.actor) for a in reversed(uow.operations.recent())]
    assert logged == [
        ("units_import", "system"),
        ("units_import", "孙丽"),
        ("units_import", "周强"),
    ]
