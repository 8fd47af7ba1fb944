"""Issue 21: bad input never stops the campaign and never costs stored data. Every case is a real
file (zip, Word, Excel) taken on the test database (SQLite, or PostgreSQL with
QCAMP_TEST_DB=postgres): the other batches are taken, nothing stored is lost, the unit is told."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from deployments.cli import app
from documents.inbox import BATCH_MARKER
from domain.models import ApplicationForm
from services.application import take_inbox
from services.context import open_campaign
from services.intake import intake_batch
from storage import orm
from storage.uow import UnitOfWork
from tests.intake.test_intake import (
    ON_TIME,
    arrive,
    fix_uscc,
    good_form,
    register_units,
    table_counts,
    write_batch,
)

pytestmark = pytest.mark.usefixtures("database", "campaign_dir")

LONG_NAME = "关于降低药芯焊丝焊缝气孔不良率的申报材料" * 5 + ".docx"  # 305 bytes in UTF-8


@pytest.fixture
def units(tmp_path: Path) -> None:
    register_units(tmp_path)


def zipped(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    """The files of `folder` in one zip, with `extra` members as named."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f.name)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return target


def drop(ctx, unit: str, name: str, files: list[Path], at: dt.datetime) -> Path:  # noqa: ANN001
    """A batch in the campaign inbox, as the exchange folder delivers it."""
    folder = ctx.inbox / unit / name
    folder.mkdir(parents=True)
    for path in files:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / BATCH_MARKER).write_text(
        json.dumps({"unit": unit, "received_at": at.isoformat()}), encoding="utf-8"
    )
    return folder


def messages() -> list[tuple[str, str, str]]:
    with UnitOfWork() as uow:
        rows = uow.session.execute(
            select(
                orm.NotificationRecord.event,
                orm.NotificationRecord.recipient_key,
                orm.NotificationRecord.body,
            ).order_by(orm.NotificationRecord.id)
        )
        return [(e, r, b) for e, r, b in rows]


def current_titles(campaign_id: int) -> dict[str, set[str]]:
    with UnitOfWork() as uow:
        apps = uow.repo.applications(campaign_id)
        found: dict[str, set[str]] = {}
        for a in apps:
            found.setdefault(a.recommending_unit.code, set()).add(f"{a.title}:{a.state}")
        return found


def test_a_member_name_over_255_bytes_is_a_finding_and_the_rest_of_the_zip_is_taken(
    units, tmp_path: Path
) -> None:
    assert len(LONG_NAME.encode()) > 255
    forms = [fix_uscc(good_form(0)), fix_uscc(good_form(1))]
    batch = zipped(write_batch(tmp_path / "b", forms), tmp_path / "批次.zip", {LONG_NAME: b"x"})
    result = intake_batch(
        UnitOfWork(), open_campaign(2025, ON_TIME), "ASSN-HJXH", [batch], received_at=ON_TIME
    )
    long = [f for f in result.batch.findings if "文件名过长" in f.message]
    assert len(long) == 1 and long[0].code == "FILE_UNREADABLE"
    assert "255 字节" in long[0].message and "缩短" in long[0].message
    assert {a.title: a.status for a in result.applications if a.status == "accepted"} == {
        f.title: "accepted" for f in forms
    }


def test_a_batch_that_cannot_be_taken_is_set_aside_and_every_other_batch_goes_on(
    units, tmp_path: Path
) -> None:
    """Three batches wait in the inbox: a unit's batch that cannot be taken at all (a zip whose
    only member has a 305-byte name; then one with no file), a batch for a unit that is not
    registered, and another unit's good batch that arrived last. One run takes the good batch,
    records the bad one as refused and tells its unit; the next run tries none of them again."""
    ctx = open_campaign(2025, ON_TIME + dt.timedelta(hours=5))
    poison = tmp_path / "poison.zip"
    with zipfile.ZipFile(poison, "w") as z:
        z.writestr(LONG_NAME, b"PK\x03\x04")
    drop(ctx, "DIST-16", "20250415-1000-v1", [poison], ON_TIME)
    drop(ctx, "DIST-16", "20250415-1030-v2", [], ON_TIME + dt.timedelta(minutes=30))
    drop(ctx, "NOPE-99", "20250415-1100-v1", [poison], ON_TIME + dt.timedelta(hours=1))
    good = write_batch(tmp_path / "good", [fix_uscc(good_form(0))])
    drop(
        ctx, "ASSN-HJXH", "20250415-1200-v1", list(good.iterdir()), ON_TIME + dt.timedelta(hours=2)
    )

    report = take_inbox(UnitOfWork(), ctx)

    assert report.done == ["受理4个批次：受理1项，退回1项，逾期批次0个，整批未受理3个"]
    assert current_titles(ctx.campaign_id) == {"ASSN-HJXH": {f"{good_form(0).title}:accepted"}}
    with UnitOfWork() as uow:
        batches = uow.session.execute(
            select(orm.SubmissionBatch.version, orm.SubmissionBatch.status)
            .join(orm.RecommendingUnit)
            .where(orm.RecommendingUnit.code == "DIST-16")
            .order_by(orm.SubmissionBatch.version)
        ).all()
        findings = uow.session.scalars(
            select(orm.SubmissionBatch.findings).order_by(orm.SubmissionBatch.id)
        ).all()
    assert [tuple(b) for b in batches] == [(1, "refused"), (2, "refused")]
    assert "文件名过长" in json.dumps(findings[0], ensure_ascii=False)
    set_aside = findings[1][-1]
    assert set_aside["code"] == "BATCH_UNPROCESSABLE" and "没有申报书" in set_aside["message"]
    told = [(e, r) for e, r, _b in messages()]
    assert told.count(("batch_refused", "ru:DIST-16")) == 2 and ("receipt", "ru:ASSN-HJXH") in told
    assert any("NOPE-99" in line and "未登记" in line for line in report.failed)
    assert sum("DIST-16" in line for line in report.failed) == 2

    before = table_counts()
    again = take_inbox(UnitOfWork(), ctx)
    assert table_counts() == before  # the refused batches are not tried again
    assert again.done == ["受理1个批次：受理0项，退回0项，逾期批次0个，整批未受理1个"]  # NOPE-99


def _bomb(tmp: Path) -> list[Path]:
    path = tmp / "申报材料.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("01_申报书.docx", b"\0" * (150 * 1024 * 1024))
    return [path]


def _too_many_entries(tmp: Path) -> list[Path]:
    path = tmp / "申报材料.zip"
    with zipfile.ZipFile(path, "w") as z:
        for n in range(2001):
            z.writestr(f"附件/{n:04d}.pdf", b"%PDF-1.4\n%%EOF\n")
    return [path]


def _no_forms(tmp: Path) -> list[Path]:
    path = tmp / "盖章扫描件.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n")
    return [path]


@pytest.mark.parametrize("kind", [_bomb, _too_many_entries, _no_forms])
def test_a_refused_resubmission_never_replaces_the_accepted_applications(
    units, tmp_path: Path, kind
) -> None:  # noqa: ANN001
    ctx = open_campaign(2025, ON_TIME + dt.timedelta(days=1))
    forms = [fix_uscc(good_form(0)), fix_uscc(good_form(1))]
    first = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "v1", forms)], received_at=ON_TIME
    )
    assert first.batch.accepted == 2
    accepted = current_titles(ctx.campaign_id)
    (tmp_path / "v2").mkdir()
    later = ON_TIME + dt.timedelta(days=1)
    second = intake_batch(UnitOfWork(), ctx, "ASSN-HJXH", kind(tmp_path / "v2"), received_at=later)
    assert second.batch.status == "refused" and second.batch.accepted == 0
    assert second.batch.findings[-1].code == "NO_READABLE_FORM"
    assert current_titles(ctx.campaign_id) == accepted  # the 2 accepted applications stay current
    with UnitOfWork() as uow:
        statuses = uow.session.scalars(
            select(orm.SubmissionBatch.status).order_by(orm.SubmissionBatch.version)
        ).all()
    assert statuses == ["received", "refused"]
    refused = [b for e, r, b in messages() if e == "batch_refused"]
    assert len(refused) == 1 and "此前已受理的申报材料继续有效" in refused[0]
    assert "整批不予受理" in refused[0]


def _with_uscc(form: ApplicationForm, uscc: str) -> ApplicationForm:
    return form.model_copy(update={"uscc": uscc})


def dashed(form: ApplicationForm) -> ApplicationForm:
    """The form with its USCC typed with a dash (19 characters: PostgreSQL refused it)."""
    return _with_uscc(form, f"{form.uscc[:4]}-{form.uscc[4:]}")


def test_over_long_fields_are_findings_naming_field_and_limit_on_either_database(
    units, tmp_path: Path
) -> None:
    """PostgreSQL refused these values with a raw DataError, SQLite stored them: now both
    return the form with a finding, store what fits, and take the rest of the batch."""
    base = fix_uscc(good_form(0))
    lead = base.project_lead.model_copy(update={"name": "王" * 61})
    forms = [
        base.model_copy(update={"title": "降低焊缝气孔不良率" * 34}),  # 306 characters
        fix_uscc(good_form(1, applicant="天津" * 101)),  # 202 characters
        fix_uscc(good_form(2)).model_copy(update={"project_lead": lead}),
        dashed(fix_uscc(good_form(1, title="提高汽车座椅骨架焊接强度"))),
    ]
    ctx = open_campaign(2025, ON_TIME)
    result = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "b", forms)], received_at=ON_TIME
    )
    too_long = [
        [(f.field, f.message) for f in a.findings if f.code == "FIELD_TOO_LONG"]
        for a in result.applications
    ]
    assert too_long[0][0][0] == "项目名称" and "306 个字符，超过 300 个字符" in too_long[0][0][1]
    assert too_long[1][0][0] == "申报单位" and "超过 200 个字符" in too_long[1][0][1]
    assert too_long[2][0][0] == "项目负责人姓名" and "超过 60 个字符" in too_long[2][0][1]
    assert "请精简到 60 个字符以内" in too_long[2][0][1]
    assert [a.status for a in result.applications] == ["returned"] * 3 + ["accepted"]
    with UnitOfWork() as uow:
        apps = uow.repo.applications(ctx.campaign_id, with_form=True)
        usccs = uow.session.scalars(select(orm.ApplicantUnit.uscc)).all()
    assert len(apps) == 4 and len(apps[0].title) == 300  # what fits; the form keeps it whole
    assert apps[0].form["title"] == forms[0].title
    plain = forms[3].uscc.replace("-", "")
    assert apps[3].uscc == plain and plain in usccs


def test_one_company_typed_full_width_lower_case_and_spaced_is_one_applicant(
    units, tmp_path: Path
) -> None:
    ctx = open_campaign(2025, ON_TIME)
    code = fix_uscc(good_form(0)).uscc
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())  # ９１…ｍａ…, lower case
    spaced = " ".join(code[i : i + 4] for i in range(0, 18, 4))
    a = _with_uscc(good_form(0), full_width)
    b = _with_uscc(good_form(1, applicant=a.applicant, title="提高焊丝镀铜层附着力"), spaced)
    first = intake_batch(
        UnitOfWork(), ctx, "ASSN-HJXH", [write_batch(tmp_path / "a", [a])], received_at=ON_TIME
    )
    second = intake_batch(
        UnitOfWork(), ctx, "DIST-16", [write_batch(tmp_path / "b", [b])], received_at=ON_TIME
    )
    assert first.applications[0].status == "accepted", first.applications[0].findings
    assert second.applications[0].status == "accepted", second.applications[0].findings
    with UnitOfWork() as uow:
        applicants = uow.session.scalars(select(orm.ApplicantUnit.uscc)).all()
        apps = uow.session.scalars(select(orm.Application.uscc)).all()
        keys = set(uow.session.scalars(select(orm.ProjectPerson.person_key)))
    assert applicants == [code]
    assert apps == [code, code]
    assert all(k.startswith(f"{code}:") for k in keys)


def _sheet(path: Path, rows: list[list[str]]) -> Path:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_registers_and_expert_list_refuse_over_long_values_and_store_nothing(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    units = _sheet(
        tmp_path / "名录.xlsx",
        [["单位代码", "单位名称"], ["ASSN-HJXH", "天津市焊接协会"], ["DIST-16", "滨海" * 101]],
    )
    out = runner.invoke(app, ["units", "import", str(units)])
    assert out.exit_code == 2, out.output
    assert "名录.xlsx" in out.output and "第3行“单位名称”有 202 个字符" in out.output
    assert "超过 200 个字符" in out.output and "未导入任何记录" in out.output
    past = _sheet(tmp_path / "历年.xlsx", [["年份", "项目名称"], ["2023", "降低焊接缺陷率" * 50]])
    out = runner.invoke(app, ["past-results", "import", str(past)])
    assert out.exit_code == 2 and "“项目名称”有 350 个字符，超过 300 个字符" in out.output
    header = ["姓名", "单位", "专业领域", "职称", "电话", "邮箱", "回避单位"]
    experts = _sheet(
        tmp_path / "专家库.xlsx",
        [
            header,
            ["张三", "天津大学", "焊材", "教授", "13800000001", "", ""],
            ["李" * 61, "南开大学", "焊材", "教授", "13800000002", "", ""],
        ],
    )
    out = runner.invoke(app, ["experts", "import", str(experts)])
    assert out.exit_code == 2, out.output
    assert "专家库.xlsx 第3行“姓名”有 61 个字符，超过 60 个字符" in out.output
    assert table_counts()["recommending_units"] == 0
    assert table_counts()["past_results"] == 0 and table_counts()["experts"] == 0


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("mailto://{env:U}:{env:P}@smtp.example.cn", "没有写收件人"),
        ("mailtos://smtp.example.cn?from=zlfzc@tj.gov.cn", "没有写收件人"),
        ("mailtos://bot:hunter2@smtp.example.cn?to=hj@example.cn", "含明文password"),
        ("json://hooks.example.cn/notify?token=abc123", "含明文token"),
        ("email", "渠道地址格式有误"),
    ],
)
def test_units_import_refuses_channels_that_would_mail_the_wrong_person_or_store_a_secret(
    tmp_path: Path, channel: str, expected: str
) -> None:
    runner = CliRunner()
    good = "mailtos://{env:U}:{env:P}@smtp.example.cn?to=hj@example.cn"
    path = _sheet(
        tmp_path / "名录.xlsx",
        [
            ["单位代码", "单位名称", "通知渠道"],
            ["ASSN-HJXH", "天津市焊接协会", good],
            ["DIST-16", "天津市滨海新区市场监督管理局", f"wecombot://{{secret:bh}}; {channel}"],
        ],
    )
    out = runner.invoke(app, ["units", "import", str(path)])
    assert out.exit_code == 2, out.output
    assert "第3行“通知渠道”" in out.output and expected in out.output
    assert "未导入任何记录" in out.output
    if "明文" in expected:
        assert "{env:变量名}" in out.output and "{secret:密钥块名}" in out.output
        assert "hunter2" not in out.output and "abc123" not in out.output
    with UnitOfWork() as uow:
        assert not uow.repo.recommending_units()
    ok = _sheet(
        tmp_path / "名录2.xlsx",
        [["单位代码", "单位名称", "通知渠道"], ["ASSN-HJXH", "天津市焊接协会", good]],
    )
    assert runner.invoke(app, ["units", "import", str(ok)]).exit_code == 0
    assert runner.invoke(app, ["units", "import", str(ok)]).exit_code == 0
    with UnitOfWork() as uow:
        assert [u.channels for u in uow.repo.recommending_units()] == [[good]]


def test_a_broken_or_naive_batch_marker_stops_no_run(units, tmp_path: Path) -> None:
    """A marker that is not JSON counts as arrived when it was written; one without a time zone
    is Shanghai time. Neither fails the run; both batches are taken."""
    import os

    ctx = open_campaign(2025, ON_TIME + dt.timedelta(hours=5))
    one = write_batch(tmp_path / "one", [fix_uscc(good_form(0))])
    two = write_batch(tmp_path / "two", [fix_uscc(good_form(1))])
    broken = drop(ctx, "DIST-16", "20250415-1000-v1", list(one.iterdir()), ON_TIME)
    (broken / BATCH_MARKER).write_text("{not json", encoding="utf-8")
    os.utime(broken / BATCH_MARKER, (ON_TIME.timestamp(), ON_TIME.timestamp()))
    naive = drop(ctx, "ASSN-HJXH", "20250415-1100-v1", list(two.iterdir()), ON_TIME)
    (naive / BATCH_MARKER).write_text(
        json.dumps({"unit": "ASSN-HJXH", "received_at": "2025-04-15T11:00:00"}), encoding="utf-8"
    )
    report = take_inbox(UnitOfWork(), ctx)
    assert report.done == ["受理2个批次：受理2项，退回0项，逾期批次0个"]
    assert set(current_titles(ctx.campaign_id)) == {"DIST-16", "ASSN-HJXH"}


def test_the_intake_command_says_a_refused_resubmission_leaves_the_accepted_version(
    units, tmp_path: Path
) -> None:
    runner = CliRunner()
    base = ["intake", "--year", "2025", "--unit", "ASSN-HJXH"]
    good = write_batch(tmp_path / "v1", [fix_uscc(good_form(0))])
    first = runner.invoke(app, [*base, str(arrive(ON_TIME, good)[0])])
    assert first.exit_code == 0 and "受理1项" in first.output, first.output
    (tmp_path / "v2").mkdir()
    scans = _no_forms(tmp_path / "v2")
    arrive(ON_TIME + dt.timedelta(days=1), *scans)
    second = runner.invoke(app, [*base, *map(str, scans)])
    assert second.exit_code == 0, second.output
    assert "第2版" in second.output and "整批未受理，此前受理的版本继续有效" in second.output
    assert "NO_READABLE_FORM" in second.output and "盖章扫描件.pdf" in second.output
    with UnitOfWork() as uow:
        assert [a.state for a in uow.repo.applications(uow.repo.campaign(2025).id)] == ["accepted"]


def test_a_database_outage_is_raised_for_a_retry_never_taken_as_a_bad_batch(
    units, tmp_path: Path
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import IntegrityError, OperationalError
    from sqlalchemy.orm import sessionmaker

    from services.application import take_unit_batches
    from services.intake import IntakeError
    from storage.db import is_retryable

    ctx = open_campaign(2025, ON_TIME + dt.timedelta(hours=1))
    good = write_batch(tmp_path / "good", [fix_uscc(good_form(0))])
    folder = drop(ctx, "DIST-16", "20250415-1000-v1", list(good.iterdir()), ON_TIME)
    gone = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite'}")
    with pytest.raises(OperationalError) as outage:
        take_unit_batches(UnitOfWork(sessionmaker(gone)), ctx, "DIST-16", [(folder, ON_TIME)])
    assert table_counts()["submission_batches"] == 0 and not messages()
    # What tells the database's trouble from the batch's, on real errors: a run that lost a
    # race for a unique key retries too; a bad file or a name the disk refuses does not.
    with pytest.raises(IntegrityError) as collision, UnitOfWork() as uow:
        uow.add(orm.RecommendingUnit(code="DIST-16", name="重复"))
        uow.flush()
    with pytest.raises(OSError) as disk:
        (tmp_path / LONG_NAME).write_bytes(b"x")
    assert is_retryable(outage.value) and is_retryable(collision.value)
    assert not is_retryable(disk.value) and not is_retryable(IntakeError("未登记"))
    taken = take_unit_batches(UnitOfWork(), ctx, "DIST-16", [(folder, ON_TIME)])
    assert [r.batch.accepted for r in taken] == [1]  # the retry takes it as if nothing happened
