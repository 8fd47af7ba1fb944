"""申报受理的审核发现: the codes and texts of the findings the intake of a batch adds to the
checks of `domain.eligibility` (files refused, a missing summary table, late batches, duplicates
within the campaign), and the texts of the feedback and the state changes it records.

Every message is Chinese, names what is wrong and says how to fix it.
"""

from __future__ import annotations

import datetime as dt
import re

from domain.calendar import SHANGHAI
from domain.eligibility import DUPLICATE_IN_CAMPAIGN, NOT_IN_SUMMARY
from domain.models import Finding, Severity

FILE_TOO_LARGE = "FILE_TOO_LARGE"
FILE_UNREADABLE = "FILE_UNREADABLE"
LATE_SUBMISSION = "LATE_SUBMISSION"
NO_READABLE_FORM = "NO_READABLE_FORM"  # a batch without one readable form: refused as a whole
BATCH_UNPROCESSABLE = "BATCH_UNPROCESSABLE"  # a batch that failed while it was taken: set aside
FORM_ACCEPTED = "FORM_ACCEPTED"  # the feedback's line for a form without findings
TAKEN_UNDER_EXCEPTION = "TAKEN_UNDER_EXCEPTION"  # a late batch a deadline exception let in

FILE_FIELD = "文件"
SUMMARY_FIELD = "立项申报汇总表"
TITLE_FIELD = "项目名称"
RECEIVED_FIELD = "报送时间"

FORM_SUFFIXES = (".docx", ".doc", ".docm", ".wps")
"""Files that were meant as an application form: refused, they still count as a returned form."""

BATCH_TITLE = "（整批）"  # 审核意见: the title column of a finding on the whole batch
NOT_FILLED = "（未填写）"
ACCEPTED_REASON = "形式审查通过"


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y年%m月%d日 %H:%M}"


def file_refused(code: str, message: str, file: str) -> Finding:
    """A file of the batch refused before it was read (safety checks or an unreadable form)."""
    return Finding(code=code, severity=Severity.ERROR, field=FILE_FIELD, message=message, file=file)


def not_a_form_or_summary(file: str) -> Finding:
    """A file that passed the safety checks but is neither a form (.docx) nor a summary (.xlsx)."""
    return file_refused(
        FILE_UNREADABLE,
        f"文件“{file}”不是申报书（.docx）或汇总表（.xlsx），未能读取。"
        "请用 Word/WPS 另存为 .docx 或 .xlsx 后重新提交。",
        file,
    )


def is_unreadable_form(finding: Finding) -> bool:
    """A refused file that was meant as an application form: it is stored as a returned form."""
    return finding.code in {FILE_UNREADABLE, FILE_TOO_LARGE} and finding.file.lower().endswith(
        FORM_SUFFIXES
    )


def summary_missing() -> Finding:
    """The batch has no 立项申报汇总表."""
    return Finding(
        code=NOT_IN_SUMMARY,
        severity=Severity.ERROR,
        field=SUMMARY_FIELD,
        message="本批次缺少《立项申报汇总表》（.xlsx），所有申报书均无法与汇总表核对。"
        "请按模板填写汇总表，与申报书一并重新报送。",
    )


def form_without_summary(file: str) -> Finding:
    """A form of a batch that has no summary table."""
    return Finding(
        code=NOT_IN_SUMMARY,
        severity=Severity.ERROR,
        field=SUMMARY_FIELD,
        message=f"申报书“{file}”未列入汇总表（本批次没有汇总表）。请在汇总表中列出该项目。",
        file=file,
    )


def duplicate_in_campaign(other_title: str, similarity: float, *, same_batch: bool) -> Finding:
    """A form whose title nearly repeats another application of this year's campaign."""
    where = "本批次另一份申报书" if same_batch else "其他推荐单位已报送的项目"
    return Finding(
        code=DUPLICATE_IN_CAMPAIGN,
        severity=Severity.ERROR,
        field=TITLE_FIELD,
        message=f"与{where}“{other_title}”高度相似（相似度{similarity:.2f}），"
        "疑似重复申报。请核实，同一项目只报送一次。",
        detail={"other": other_title, "similarity": round(similarity, 2)},
    )


def is_late(received_at: dt.datetime, deadline: dt.datetime) -> bool:
    """A batch received after the application deadline is recorded but not accepted."""
    return received_at > deadline


def late_submission(received_at: dt.datetime, deadline: dt.datetime) -> Finding:
    """A batch received after the deadline."""
    return Finding(
        code=LATE_SUBMISSION,
        severity=Severity.ERROR,
        field=RECEIVED_FIELD,
        message=f"本批次于{_when(received_at)}送达，"
        f"已超过截止时间{_when(deadline)}，按规定不予受理。"
        "如有特殊情况，请与市市场监管委质量发展处联系。",
    )


def taken_under_exception(
    received_at: dt.datetime, deadline: dt.datetime, exception_id: int, until: dt.datetime
) -> Finding:
    """A batch received after the deadline and taken under a recorded exception (截止后例外)."""
    return Finding(
        code=TAKEN_UNDER_EXCEPTION,
        severity=Severity.INFO,
        field=RECEIVED_FIELD,
        message=f"本批次于{_when(received_at)}送达，晚于截止时间{_when(deadline)}，"
        f"依据经批准的截止后例外#{exception_id}（准许报送至{_when(until)}）予以受理；"
        "此前已受理的申报材料继续有效，不被本批次取代。",
    )


def no_readable_form(*, has_current: bool) -> Finding:
    """A batch in which not one application form could be read: it replaces nothing."""
    keep = (
        "贵单位此前已受理的申报材料继续有效，本批次不取代它们。"
        if has_current
        else "本批次未受理任何项目。"
    )
    return Finding(
        code=NO_READABLE_FORM,
        severity=Severity.ERROR,
        field=FILE_FIELD,
        message=f"本批次没有一份可以读取的申报书（.docx），整批不予受理。{keep}"
        "请按各文件的问题修改后，将申报书（.docx）与汇总表（.xlsx）一并重新报送。",
    )


def batch_unprocessable(problem: str, *, has_current: bool) -> Finding:
    """A batch that could not be taken at all (an error while reading or storing it): set
    aside, so that it stops no other batch and is not tried again on every run."""
    keep = "贵单位此前已受理的申报材料继续有效。" if has_current else ""
    return Finding(
        code=BATCH_UNPROCESSABLE,
        severity=Severity.ERROR,
        field=FILE_FIELD,
        message=f"本批次无法处理，已单独搁置，不予受理：{problem}{keep}"
        "请检查文件能否用 Word/WPS/Excel 正常打开、文件名是否过长，重新保存后再报送；"
        "如仍不能解决，请与市市场监管委质量发展处联系。",
    )


def form_accepted(file: str) -> Finding:
    """The feedback's line for a form that passed every check."""
    return Finding(
        code=FORM_ACCEPTED, severity=Severity.INFO, message="形式审查通过，已受理。", file=file
    )


def batch_reason(unit_name: str, version: int) -> str:
    """The reason recorded with the first state of each application of a batch."""
    return f"{unit_name}第{version}版报送"


def returned_reason(findings: list[Finding]) -> str:
    """The reason recorded when a form is returned: its error codes; empty when it is not."""
    return "；".join(sorted({f.code for f in findings if f.severity == Severity.ERROR}))


def local_time(moment: dt.datetime) -> str:
    """A moment as the messages write it (送达时间, 截止时间): Shanghai time to the minute."""
    return _when(moment)


_FIX_START = re.compile(r"[：:，,。；;]\s*(?=请)")


def split_fix(message: str) -> tuple[str, str]:
    """A finding's message as (问题说明, 修改要求): the text before its first 「请…」 clause and that
    clause on; ("message", "") when the message asks nothing."""
    match = _FIX_START.search(message)
    if match is None:
        return message, ""
    return message[: match.start()].rstrip() + "。", message[match.end() :].strip()
