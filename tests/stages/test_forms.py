"""The dashboard's forms in Chinese: the pause forms' fields, the audit form's list of pending
projects and workbook path, and the custom-run form's parameters (with the date format)."""

from __future__ import annotations

import re
from typing import Any

from deployments.serve import ENTRYPOINTS, build_deployment
from flows.audit import AuditDecisionInput, form_description
from flows.evaluation import ExcellentListInput
from services import audit
from storage.uow import UnitOfWork
from tests.stages.factory import context, seed

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def titles(schema: dict[str, Any]) -> dict[str, str]:
    """Every field's title, nested models included."""
    fields = dict(schema["properties"])
    for model in schema.get("$defs", {}).values():
        fields |= {f"{model['title']}.{k}": v for k, v in model["properties"].items()}
    return {name: str(field.get("title", "")) for name, field in fields.items()}


def test_the_pause_forms_title_every_field_in_chinese() -> None:
    for form in (AuditDecisionInput, ExcellentListInput):
        found = titles(form.model_json_schema())
        assert found and all(CHINESE.search(t) for t in found.values()), found
    audit_titles = titles(AuditDecisionInput.model_json_schema())
    assert audit_titles["decided_by"] == "决定人" and audit_titles["RejectItem.reason"] == "理由"


def test_the_audit_form_lists_the_pending_projects_and_the_workbook() -> None:
    ids = seed(3)
    ctx = context("2025-05-08")
    audit.write_audit(UnitOfWork(), ctx)
    text = form_description(ctx, 3)
    assert str(audit.audit_workbook_path(ctx)) in text
    assert "| 申报编号 | 项目名称 | 推荐单位 | 建议结论 |" in text
    with UnitOfWork() as uow:
        apps = uow.repo.applications(ctx.campaign_id)
        rows = [
            f"| {audit.audit_key(a, 2025)} | {a.title} | {a.recommending_unit.name} | 通过 |"
            for a in apps
        ]
    assert len(rows) == len(ids) and all(r in text for r in rows)


def test_the_custom_run_form_titles_the_parameters_in_chinese_with_the_date_format() -> None:
    for key in ENTRYPOINTS:
        schema = build_deployment(key, 2025)._parameter_openapi_schema.model_dump()
        props = schema["properties"]
        assert {"year", "as_of"} <= set(props), key
        for name, field in props.items():
            assert CHINESE.search(field["title"]) and CHINESE.search(field["description"]), name
        assert "YYYY-MM-DD" in props["as_of"]["description"]
    audit_form = build_deployment("audit", 2025)._parameter_openapi_schema.model_dump()
    assert audit_form["properties"]["wait_for_staff"]["title"] == "在仪表盘等待工作人员决定"
