"""Issue 3: a recommending unit's batch, read from real Word and Excel files, checked the way the
commission checks it. Every finding code of the contract is produced here from a real file."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from deployments.cli import app
from documents.application_form import write_filled_form
from documents.inbox import BATCH_MARKER
from documents.summary_table import write_summary
from domain.calendar import SHANGHAI
from domain.models import ApplicationForm, ContactPerson, SummaryRow, TeamMember
from services.application import take_inbox
from services.context import open_campaign
from services.intake import IntakeError, intake_batch
from services.registry import import_past_results, import_units
from storage import orm
from storage.orm import Base
from storage.uow import UnitOfWork

pytestmark = pytest.mark.usefixtures("database", "campaign_dir")

ON_TIME = dt.datetime(2025, 4, 15, 10, 0, tzinfo=SHANGHAI)
LATE = dt.datetime(2025, 4, 22, 9, 0, tzinfo=SHANGHAI)


def arrive(when: dt.datetime, *paths: Path) -> list[Path]:
    """Files (a folder's one by one) arriving at `when`: their modification time, the door's
    received time."""
    stamp = when.timestamp()
    for path in paths:
        for f in [path, *path.rglob("*")] if path.is_dir() else [path]:
            os.utime(f, (stamp, stamp))
    return list(paths)


def good_form(n: int = 1, **changes: str) -> ApplicationForm:
    base = ApplicationForm(
        title=[
            "降低药芯焊丝焊缝气孔不良率",
            "提高汽车座椅骨架一次交检合格率",
            "缩短变压器交付周期",
        ][n % 3],
        applicant=[
            "天津市津华焊接材料有限公司",
            "天津渤星汽车零部件有限公司",
            "天津宏达电气有限公司",
        ][n % 3],
        uscc=["91120116MA05K6XA4C", "91120110MA06B2CG1Q", "91120111MA07LJ5D1X"][n % 3],
        address="天津市滨海新区黄海路100号",
        district="滨海新区",
        chain="焊材",
        project_type="提质增效",
        joint="否",
        recommending_unit="天津市焊接协会",
        project_lead=ContactPerson(
            name="王建国", position="技术总监", phone="13912345678", email="w@example.cn"
        ),
        quality_lead=ContactPerson(name="李芳", position="质量部长", phone="13812345678"),
        members=[TeamMember(name="张伟", title="工程师", role="技术攻关")],
        start_date="2025-05",
        end_date="2025-09",
        problem="2024年焊缝气孔不良率为3.2%，造成返工。",
        goal="到2025年9月，将焊缝气孔不良率由3.2%降至1.0%以下。",
        measures="运用PDCA循环开展现状调查、要因确认，制定并实施对策。",
        economic_benefit="120",
        social_benefit="减少资源浪费。",
        foundation="已获发明专利2项",
        integrity_promise="本单位承诺所提交的申报材料真实、准确、完整。",
        recommendation_opinion="同意推荐。",
    )
    return base.model_copy(update=changes)


def fix_uscc(form: ApplicationForm) -> ApplicationForm:
    from random import Random

    from domain.uscc import make_uscc

    return form.model_copy(update={"uscc": make_uscc(Random(form.title), "120116")})


def write_batch(
    folder: Path,
    forms: list[ApplicationForm],
    *,
    summary: list[ApplicationForm] | None = None,
    layouts: tuple[str, ...] = ("table", "inline", "paragraphs"),
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, form in enumerate(forms):
        write_filled_form(
            folder / f"{n + 1:02d}_申报书.docx", form, layout=layouts[n % len(layouts)]
        )
    rows = [
        SummaryRow(
            seq=str(n + 1),
            title=f.title,
            applicant=f.applicant,
            uscc=f.uscc,
            district=f.district,
            chain=f.chain,
            project_type=f.project_type,
            joint=f.joint,
            project_lead=f.project_lead.name,
            phone=f.project_lead.phone,
            recommending_unit="天津市焊接协会",
        )
        for n, f in enumerate(forms if summary is None else summary)
    ]
    write_summary(folder / "立项申报汇总表.xlsx", rows, "天津市焊接协会")
    return folder


@pytest.fixture
def units(tmp_path: Path) -> None:
    register_units(tmp_path)


def register_units(tmp_path: Path) -> None:
    """The two recommending units of these tests, imported from a real 名录 workbook."""
    wb = Workbook()
    ws = wb.active
    ws.append(["单位代码", "单位名称", "类型", "联系人", "电话", "邮箱"])
    ws.append(["ASSN-HJXH", "天津市焊接协会", "行业协会", "赵敏", "022-23456789", "hj@example.cn"])
    ws.append(
        [
            "DIST-16",
            "天津市滨海新区市场监督管理局",
            "区市场监督管理部门",
            "钱磊",
            "022-6",
            "bh@example.cn",
        ]
    )
    path = tmp_path / "units.xlsx"
    wb.save(path)
    import_units(UnitOfWork(), path)


def codes(result, index: int = 0) -> set[str]:  # noqa: ANN001
    return {f.code for f in result.applications[index].findings}


def table_counts() -> dict[str, int]:
    with UnitOfWork() as uow:
        return {
            t.name: uow.session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_a_clean_batch_in_three_layouts_is_accepted_with_a_receipt(units, tmp_path: Path) -> None:
    forms = [fix_uscc(good_form(n)) for n in range(3)]
    batch = write_batch(tmp_path / "b1", forms)
    result = intake_batch(
        UnitOfWork(), open_campaign(2025, ON_TIME), "ASSN-HJXH", [batch], received_at=ON_TIME
    )
    assert [a.status for a in result.applications] == ["accepted"] * 3
    assert {a.title for a in result.applications} == {f.title for f in forms}
    assert result.batch.accepted == 3 and not result.batch.late
    assert Path(result.batch.feedback_document).exists()
    with UnitOfWork() as uow:
        events = uow.session.scalars(select(orm.NotificationRecord.event)).all()
        people = uow.session.scalars(select(orm.ProjectPerson.name)).all()
    assert events == ["receipt"]
    assert {"王建国", "李芳", "张伟"} <= set(people)


def test_every_error_code_returns_the_application(units, tmp_path: Path) -> None:
    past = tmp_path / "past.xlsx"
    wb = Workbook()
    wb.active.append(["年份", "项目名称", "单位", "摘要"])
    wb.active.append([2023, "降低A产品的焊接缺陷率", "天津某公司", ""])
    wb.save(past)
    import_past_results(UnitOfWork(), past)
    forms = [
        fix_uscc(good_form(0, goal="")),  # MISSING_FIELD
        good_form(1, uscc="91120110MA06B2CG1R"),  # USCC_INVALID (check character)
        fix_uscc(good_form(2, title="关于天津宏达电气提高质量的研究报告")),  # NAME_GUIDE
        fix_uscc(
            good_form(0, title="降低A产品焊接不良率", applicant="天津市海泰科技有限公司")
        ),  # past result
    ]
    batch = write_batch(tmp_path / "b", forms)
    result = intake_batch(
        UnitOfWork(), open_campaign(2025, ON_TIME), "ASSN-HJXH", [batch], received_at=ON_TIME
    )
    assert "MISSING_FIELD" in codes(result, 0)
    assert "USCC_INVALID" in codes(result, 1)
    assert "NAME_GUIDE" in codes(result, 2)
    dup = next(f for f in result.applications[3].findings if f.code == "DUPLICATE_PAST_RESULT")
    assert "降低A产品的焊接缺陷率" in dup.message and "2023" in dup.message
    assert all(a.status == "returned" for a in result.applications)
    for a in result.applications:
        for f in a.findings:
            assert f.message and f.field, "each finding names its field and says how to fix it"


def test_warnings_and_info_do_not_return(units, tmp_path: Path) -> None:
    from random import Random

    from domain.uscc import make_uscc

    beijing = make_uscc(Random(1), "110105")
    forms = [good_form(0, uscc=beijing, chain="其他", joint="是", joint_units="天津大学")]
    result = intake_batch(
        UnitOfWork(),
        open_campaign(2025, ON_TIME),
        "ASSN-HJXH",
        [write_batch(tmp_path / "b", forms)],
        received_at=ON_TIME,
    )
    assert {"NOT_REGISTERED_IN_TIANJIN", "OUT_OF_FOCUS_AREA", "JOINT_PRIORITY"} <= codes(result)
    assert result.applications[0].status == "accepted"


def test_summary_table_must_agree_with_the_forms(units, tmp_path: Path) -> None:
    forms = [fix_uscc(good_form(0)), fix_uscc(good_form(1))]
    summary = [forms[0].model_copy(update={"district": "河西区"})]  # second form not listed
    batch = write_batch(tmp_path / "b", forms, summary=summary)
    result = intake_batch(
        UnitOfWork(), open_campaign(2025, ON_TIME), "ASSN-HJXH", [batch], received_at=ON_TIME
    )
    assert "SUMMARY_MISMATCH" in codes(result, 0)
    assert "NOT_IN_SUMMARY" in codes(result, 1)


def test_same_project_from_two_units_is_a_duplicate_in_the_campaign(units, tmp_path: Path) -> None:
    form = fix_uscc(good_form(0))
    ctx = open_campaign(2025, ON_TIME)
    intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "a", [form])], received_at=ON_TIME
    )
    twin = form.model_copy(update={"title": "降低药芯焊丝的焊缝气孔不良率"})
    result = intake_batch(
        UnitOfWork(), ctx, "DIST-16", [write_batch(tmp_path / "b", [twin])], received_at=ON_TIME
    )
    assert "DUPLICATE_IN_CAMPAIGN" in codes(result)


def test_late_batch_is_recorded_not_accepted_and_the_unit_told(units, tmp_path: Path) -> None:
    ctx = open_campaign(2025, LATE)
    result = intake_batch(
        UnitOfWork(),
        ctx,
        "ASSN-HJXH",
        [write_batch(tmp_path / "b", [fix_uscc(good_form(0))])],
        received_at=LATE,
    )
    assert result.batch.late and result.batch.status == "late"
    assert "LATE_SUBMISSION" in codes(result)
    assert result.applications[0].status == "returned"
    with UnitOfWork() as uow:
        assert uow.session.scalars(select(orm.NotificationRecord.event)).all() == ["late_batch"]
        assert not uow.repo.applications(ctx.campaign_id)  # nothing current from a late batch


def test_resubmission_supersedes_and_keeps_every_version(units, tmp_path: Path) -> None:
    ctx = open_campaign(2025, ON_TIME)
    bad = fix_uscc(good_form(0, goal=""))
    first = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "v1", [bad])], received_at=ON_TIME
    )
    assert first.applications[0].status == "returned"
    fixed = bad.model_copy(update={"goal": "将焊缝气孔不良率由3.2%降至1.0%以下。"})
    later = ON_TIME + dt.timedelta(days=2)
    second = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "v2", [fixed])], received_at=later
    )
    assert second.batch.version == 2 and second.applications[0].status == "accepted"
    with UnitOfWork() as uow:
        all_versions = uow.repo.applications(ctx.campaign_id, current_only=False)
        current = uow.repo.applications(ctx.campaign_id)
        batches = uow.session.scalars(
            select(orm.SubmissionBatch.status).order_by(orm.SubmissionBatch.version)
        ).all()
    assert len(all_versions) == 2 and len(current) == 1 and current[0].state == "accepted"
    assert batches == ["superseded", "received"]


def test_the_same_batch_twice_changes_nothing(units, tmp_path: Path) -> None:
    ctx = open_campaign(2025, ON_TIME)
    batch = write_batch(tmp_path / "b", [fix_uscc(good_form(0))])
    intake_batch(UnitOfWork(), ctx, "ASSN-HJXH", [batch], received_at=ON_TIME)
    before = table_counts()
    again = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [batch], received_at=ON_TIME + dt.timedelta(hours=1)
    )
    assert again.batch.repeated
    assert table_counts() == before


def test_broken_and_hostile_files_are_findings_and_touch_nothing_stored(
    units, tmp_path: Path
) -> None:
    ctx = open_campaign(2025, ON_TIME)
    good = fix_uscc(good_form(0))
    intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "v1", [good])], received_at=ON_TIME
    )
    folder = write_batch(tmp_path / "v2", [good])
    whole = (folder / "01_申报书.docx").read_bytes()
    (folder / "02_截断.docx").write_bytes(whole[: len(whole) // 2])
    (folder / "03_宏.docm").write_bytes(whole)
    (folder / "04_巨大.docx").write_bytes(b"PK" + b"0" * (21 * 1024 * 1024))
    with zipfile.ZipFile(folder / "05_炸弹.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("炸弹.docx", b"\0" * (150 * 1024 * 1024))
    result = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [folder], received_at=ON_TIME + dt.timedelta(days=1)
    )
    by_file = {f.file.split("/")[-1]: f.code for f in result.batch.findings}
    assert by_file.get("02_截断.docx") == "FILE_UNREADABLE"
    assert by_file.get("03_宏.docm") == "FILE_UNREADABLE"
    assert by_file.get("04_巨大.docx") == "FILE_TOO_LARGE"
    assert any(
        code == "FILE_TOO_LARGE" for name, code in by_file.items() if "炸弹" in name or "05" in name
    )
    # The readable form of the batch still went through.
    assert any(a.title == good.title and a.status == "accepted" for a in result.applications)
    with UnitOfWork() as uow:
        first = uow.session.scalar(
            select(orm.SubmissionBatch).where(orm.SubmissionBatch.version == 1)
        )
        assert first is not None and len(first.files) == 2  # the earlier version kept as it was


def test_cli_json_contract_and_clear_errors(units, tmp_path: Path) -> None:
    batch = write_batch(tmp_path / "b", [fix_uscc(good_form(0)), fix_uscc(good_form(1, goal=""))])
    zipped = tmp_path / "batch.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        for f in batch.iterdir():
            z.write(f, f.name)
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "intake",
            "--year",
            "2025",
            "--unit",
            "ASSN-HJXH",
            "--json",
            str(arrive(ON_TIME, zipped)[0]),
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert set(data) == {"applications", "batch"}
    statuses = {a["title"]: a["status"] for a in data["applications"]}
    assert set(statuses.values()) == {"accepted", "returned"}
    finding = next(f for a in data["applications"] for f in a["findings"])
    assert set(finding) >= {"code", "severity", "field", "message"}
    bad = runner.invoke(app, ["intake", "--year", "2025", "--unit", "NOPE", str(zipped)])
    assert bad.exit_code == 2 and "未登记" in bad.output


def test_unknown_unit_stores_nothing(units, tmp_path: Path) -> None:
    before = table_counts()
    with pytest.raises(IntakeError, match="未登记"):
        intake_batch(
            UnitOfWork(),
            open_campaign(2025, ON_TIME),
            "NOPE",
            [write_batch(tmp_path / "b", [good_form(0)])],
            received_at=ON_TIME,
        )
    after = table_counts()
    assert after == before or after["campaigns"] == before["campaigns"] + 1


@pytest.mark.parametrize("layout", ["table", "inline", "paragraphs"])
def test_demo_units_forms_are_whole_word_files_that_read_back(tmp_path: Path, layout: str) -> None:
    """The demo fills its forms by copying a template package: each one must still be a complete
    .docx (every part's CRC checked), open in python-docx, and read back as the unit filled it."""
    import docx

    from documents.application_form import read_form
    from documents.safety import check_file
    from simulation.early import FormWriter

    writer = FormWriter(tmp_path / "templates")
    members = [
        TeamMember(name=n, title=t, role=r)
        for n, t, r in (("张伟", "工程师", "技术攻关"), ("刘洋", "技师", "工艺改进"))
    ]
    forms = [
        good_form(0, project_type="节能降耗").model_copy(update={"members": members}),
        good_form(1, joint="是", joint_units="天津大学 & 天津<理工>大学"),
    ]
    for n, form in enumerate(forms):
        path = tmp_path / f"{n}_{layout}.docx"
        writer.write(path, form, layout)
        check_file(path)
        with zipfile.ZipFile(path) as z:
            assert z.testzip() is None
        assert docx.Document(str(path)).paragraphs
        assert read_form(path) == form


def _drop(ctx, unit: str, forms: list[ApplicationForm], at: dt.datetime, tmp: Path) -> None:  # noqa: ANN001
    """A unit's batch in the campaign inbox, as the exchange folder delivers it."""
    folder = ctx.inbox / unit / f"{at:%Y%m%d-%H%M}-v1"
    folder.mkdir(parents=True)
    for path in write_batch(tmp / unit, forms).iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / BATCH_MARKER).write_text(
        json.dumps({"unit": unit, "received_at": at.isoformat(), "version": 1}), encoding="utf-8"
    )


def test_one_run_takes_the_units_batches_in_the_order_they_arrived(units, tmp_path: Path) -> None:
    """Two units send the same project; both batches wait for the same run. The one that arrived
    first is accepted and the later one is the duplicate, whatever the units' names."""
    form = fix_uscc(good_form(0))
    twin = form.model_copy(update={"title": "降低药芯焊丝的焊缝气孔不良率"})
    ctx = open_campaign(2025, ON_TIME + dt.timedelta(hours=3))
    _drop(ctx, "DIST-16", [form], ON_TIME, tmp_path)
    _drop(ctx, "ASSN-HJXH", [twin], ON_TIME + dt.timedelta(hours=1), tmp_path)
    report = take_inbox(UnitOfWork(), ctx)
    assert report.done == ["受理2个批次：受理1项，退回1项，逾期批次0个"]
    with UnitOfWork() as uow:
        by_unit = {
            code: state
            for code, state in uow.session.execute(
                select(orm.RecommendingUnit.code, orm.Application.state).join(
                    orm.RecommendingUnit,
                    orm.RecommendingUnit.id == orm.Application.recommending_unit_id,
                )
            )
        }
    assert by_unit == {"DIST-16": "accepted", "ASSN-HJXH": "returned"}


def test_call_reminders_and_close_are_services_that_run_once(units, tmp_path: Path) -> None:
    from services.application import close_applications, publish_call, send_reminders

    ctx = open_campaign(2025, ON_TIME)
    call = publish_call(UnitOfWork(), ctx)
    assert call.done == ["发布征集通知，寄送空白申报书和汇总表给2个推荐单位"]
    # the numbered call notice itself and the two blank forms
    assert len(call.documents) == 3 and all(Path(d).exists() for d in call.documents)
    assert "申报工作的通知" in call.documents[0]
    assert publish_call(UnitOfWork(), ctx).done == []
    # A blank form lost on disk after the call went out: written again, nobody told twice.
    Path(call.documents[0]).unlink()
    again = publish_call(UnitOfWork(), ctx)
    assert again.done == [] and Path(call.documents[0]).exists()
    with UnitOfWork() as uow:
        calls = uow.session.scalars(
            select(orm.NotificationRecord).where(orm.NotificationRecord.event == "call")
        ).all()
    assert len(calls) == 2
    intake_batch(
        UnitOfWork(),
        ctx,
        "ASSN-HJXH",
        [write_batch(tmp_path / "b", [fix_uscc(good_form(0))])],
        received_at=ON_TIME,
    )
    reminded = send_reminders(UnitOfWork(), ctx)
    assert reminded.done == ["申报截止前7天提醒：1个推荐单位尚未报送或需补正"]
    assert send_reminders(UnitOfWork(), ctx).done == []
    early = close_applications(UnitOfWork(), ctx)
    assert early.waiting == ["申报截止时间 2025-04-20 23:59"] and not early.complete
    after = open_campaign(2025, dt.datetime(2025, 4, 21, 10, 0, tzinfo=SHANGHAI))
    closed = close_applications(UnitOfWork(), after)
    assert closed.done == ["申报截止：受理1项，1个推荐单位未报送，生成立项申报汇总表"]
    assert Path(closed.documents[0]).exists() and not closed.complete
    assert close_applications(UnitOfWork(), after).done == []
    with UnitOfWork() as uow:
        events = uow.session.scalars(
            select(orm.NotificationRecord.event).order_by(orm.NotificationRecord.id)
        ).all()
    assert events == ["call", "call", "receipt", "application_reminder"]


def test_the_stage_flow_publishes_takes_the_inbox_and_reminds(
    units, prefect_api: None, tmp_path: Path
) -> None:
    """The application stage as Prefect runs it: its tasks' reports merged into the stage's."""
    from flows.application import application_stage

    now = ON_TIME + dt.timedelta(hours=3)
    _drop(open_campaign(2025, now), "DIST-16", [fix_uscc(good_form(0))], ON_TIME, tmp_path)
    report = application_stage(2025, now.isoformat())
    assert report.done == [
        "发布征集通知，寄送空白申报书和汇总表给2个推荐单位",
        "受理1个批次：受理1项，退回0项，逾期批次0个",
        "申报截止前7天提醒：1个推荐单位尚未报送或需补正",
    ]
    assert report.waiting == ["申报截止时间 2025-04-20 23:59"] and not report.complete
    again = application_stage(2025, now.isoformat())
    assert again.done == [] and again.waiting == report.waiting


def test_register_commands_refuse_bad_files_with_exit_2_and_store_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    wb = Workbook()
    wb.active.append(["单位代码", "单位名称", "类型"])
    wb.active.append(["ASSN-HJXH", "天津市焊接协会", "协会"])
    wb.save(tmp_path / "bad-kind.xlsx")
    out = runner.invoke(app, ["units", "import", str(tmp_path / "bad-kind.xlsx")])
    assert out.exit_code == 2 and "第2行“类型”" in out.output and "未导入任何记录" in out.output
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    out = runner.invoke(app, ["units", "import", str(tmp_path / "broken.xlsx")])
    assert out.exit_code == 2 and "broken.xlsx" in out.output
    wb = Workbook()
    wb.active.append(["年份", "项目名称"])
    wb.active.append(["二〇二三", "降低焊接缺陷率"])
    wb.save(tmp_path / "bad-year.xlsx")
    out = runner.invoke(app, ["past-results", "import", str(tmp_path / "bad-year.xlsx")])
    assert out.exit_code == 2 and "不是有效年份" in out.output
    with UnitOfWork() as uow:
        assert not uow.repo.recommending_units()
    wb = Workbook()
    wb.active.append(["单位代码", "单位名称", "通知渠道"])
    wb.active.append(
        [
            "ASSN-HJXH",
            "天津市焊接协会",
            "mailtos://{env:U}:{env:P}@smtp.example.cn?to=hj@example.cn; wecombot://{secret:hj}",
        ]
    )
    wb.save(tmp_path / "units.xlsx")
    out = runner.invoke(app, ["units", "import", str(tmp_path / "units.xlsx")])
    assert out.exit_code == 0 and "新增 1 个，更新 0 个" in out.output
    with UnitOfWork() as uow:
        assert [u.channels for u in uow.repo.recommending_units()] == [
            ["mailtos://{env:U}:{env:P}@smtp.example.cn?to=hj@example.cn", "wecombot://{secret:hj}"]
        ]
    out = runner.invoke(app, ["templates", "--out", str(tmp_path / "blank")])
    assert out.exit_code == 0 and len(list((tmp_path / "blank").glob("*.*"))) == 2
    assert len(list((tmp_path / "blank" / "导入模板").glob("*.xlsx"))) == 4


def test_the_intake_task_retries_outages_not_batches_that_cannot_be_taken() -> None:
    from prefect.states import Failed

    from tasks.application import not_bad_input

    assert not not_bad_input(None, None, Failed(data=IntakeError("推荐单位代码“NOPE”未登记")))
    assert not_bad_input(None, None, Failed(data=OSError("database is locked")))
