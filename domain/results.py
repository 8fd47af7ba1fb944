"""Rules of stage 6 提交成果: the parts a result submission must have, the file types accepted,
and why a project is closed at the deadline."""

from __future__ import annotations

from pathlib import Path

REQUIRED_PARTS: tuple[str, ...] = ("成果报告", "过程材料", "效益证明")
ACCEPTED_SUFFIXES = frozenset(
    {
        ".pdf",
        ".doc",
        ".docx",
        ".wps",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".zip",
        ".rar",
        ".jpg",
        ".png",
    }
)
NOT_SUBMITTED_REASON = "截止时未提交成果"
INCOMPLETE_SUFFIX = "（材料不齐全）"
LATE_ACTOR = "rule:results_deadline"


class ResultsError(ValueError):
    """A submission or withdrawal that cannot be recorded; the message says how to fix it."""


def check_parts(parts: dict[str, str]) -> dict[str, str]:
    """The parts given, cleaned; unknown part names or file types raise `ResultsError`."""
    unknown = [k for k in parts if k not in REQUIRED_PARTS]
    if unknown:
        raise ResultsError(
            f"未知的材料类别：{'、'.join(unknown)}；材料类别应为 {'、'.join(REQUIRED_PARTS)}"
        )
    clean: dict[str, str] = {}
    for name, value in parts.items():
        text = str(value or "").strip()
        if not text:
            continue
        suffix = Path(text).suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            raise ResultsError(
                f"{name}“{text}”的文件类型不被接受：请提交 {'、'.join(sorted(ACCEPTED_SUFFIXES))} 格式"
            )
        clean[name] = text
    return clean


def missing_parts(parts: dict[str, str]) -> list[str]:
    """The required parts not (yet) among `parts`, in their fixed order."""
    return [p for p in REQUIRED_PARTS if p not in parts]


def close_reason(incomplete: bool) -> str:
    """Why a project still in progress at the deadline is closed as 成果逾期未受理."""
    return f"{NOT_SUBMITTED_REASON}{INCOMPLETE_SUFFIX}" if incomplete else NOT_SUBMITTED_REASON
