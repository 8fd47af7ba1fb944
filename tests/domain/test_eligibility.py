import random

import pytest

from domain.duplicates import PastResultIndex
from domain.eligibility import (
    campaign_duplicate_findings,
    campaign_duplicates,
    check_form,
    missing_form_findings,
    normalize_chain,
    normalize_district,
    reconcile,
    rows_without_form,
)
from domain.models import ApplicationForm, ContactPerson, PastResult, SummaryRow
from domain.uscc import make_uscc

USCC = make_uscc(random.Random(42))
USCC2 = make_uscc(random.Random(43), division="120104")


def good_form(**changes) -> ApplicationForm:
    data = dict(
        title="提高汽车座椅骨架一次交检合格率",
        applicant="天津市某某汽车座椅有限公司",
        uscc=USCC,
        address="天津市西青区某某路1号",
        district="西青区",
        chain="汽车及新能源汽车",
        project_type="提质增效",
        joint="否",
        recommending_unit="西青区市场监督管理局",
        project_lead=ContactPerson(name="张伟", position="质量部长", phone="13800138000"),
        problem="骨架焊接一次交检合格率仅为92.3%，返修占用产能。",
        goal="一次交检合格率提高到98%以上。",
        measures="优化焊接夹具，建立焊接参数监控。",
        integrity_promise="本单位承诺所报材料真实有效。",
        economic_benefit="120",
        recommendation_opinion="经核实，材料真实完整，同意推荐。",
    )
    data.update(changes)
    return ApplicationForm(**data)


PAST = PastResultIndex(
    [
        PastResult(year=2022, title="提高汽车座椅骨架焊接一次合格率", unit="天津某座椅公司"),
        PastResult(year=2021, title="降低变速箱壳体气孔不良率", unit="天津某变速箱公司"),
    ]
)


def codes(findings):
    return [f.code for f in findings]


def test_complete_form_has_no_findings():
    form = good_form(title="降低变速箱壳体焊缝裂纹不良率")
    assert check_form(form, past_index=PAST, threshold=0.75) == []
    assert check_form(form, past_index=None, threshold=0.75) == []


def test_every_missing_field_is_reported_with_its_chinese_label():
    findings = check_form(ApplicationForm(), past_index=PAST, threshold=0.75)
    missing = [f for f in findings if f.code == "MISSING_FIELD"]
    assert [f.field for f in missing] == [
        "项目名称",
        "申报单位",
        "统一社会信用代码",
        "所属区",
        "所属产业链",
        "项目类型",
        "推荐单位",
        "项目负责人姓名",
        "项目负责人电话",
        "问题现状",
        "攻关目标",
        "主要措施或技术路线",
        "申报单位诚信承诺",
        "推荐单位意见",
    ]
    assert all(
        f.severity == "error" and "未填写" in f.message and "请" in f.message for f in missing
    )
    # Nothing else is invented about an empty form but the missing expected benefit (二(二)).
    assert set(codes(findings)) == {"MISSING_FIELD", "NO_MEASURABLE_INDICATOR"}


def test_whitespace_only_counts_as_missing():
    findings = check_form(good_form(problem=" \n\u3000 "), past_index=None, threshold=0.75)
    assert [(f.code, f.field) for f in findings] == [("MISSING_FIELD", "问题现状")]


def test_invalid_uscc_is_an_error_with_a_fix():
    findings = check_form(
        good_form(uscc=USCC[:-1] + ("0" if USCC[-1] != "0" else "1")),
        past_index=None,
        threshold=0.75,
    )
    (finding,) = findings
    assert finding.code == "USCC_INVALID" and finding.severity == "error"
    assert finding.field == "统一社会信用代码" and "营业执照" in finding.message


def test_code_registered_outside_tianjin_is_a_warning():
    findings = check_form(good_form(uscc="91110000600037341L"), past_index=None, threshold=0.75)
    (finding,) = findings
    assert finding.code == "NOT_REGISTERED_IN_TIANJIN" and finding.severity == "warning"
    assert "110000" in finding.message


def test_naming_guide_violations_come_through():
    findings = check_form(
        good_form(title="关于提高座椅骨架焊接合格率的探讨"), past_index=None, threshold=0.75
    )
    assert codes(findings) == ["NAME_GUIDE"]
    findings = check_form(
        good_form(title="提高某某汽车座椅骨架焊接合格率", applicant="天津某某汽车座椅有限公司"),
        past_index=None,
        threshold=0.75,
    )
    assert codes(findings) == ["NAME_GUIDE"] and "某某汽车座椅" in findings[0].message


def test_title_length_limit_is_configurable():
    title = "提高乘用车前排座椅骨架总成机器人焊接工序一次交检合格率"
    assert "NAME_GUIDE" in codes(
        check_form(good_form(title=title), past_index=None, threshold=0.75, title_max_len=20)
    )
    assert (
        check_form(good_form(title=title), past_index=None, threshold=0.75, title_max_len=40) == []
    )


def test_duplicate_of_a_past_result_names_it():
    findings = check_form(good_form(), past_index=PAST, threshold=0.75)
    (finding,) = findings
    assert finding.code == "DUPLICATE_PAST_RESULT" and finding.severity == "error"
    assert finding.detail["matched_title"] == "提高汽车座椅骨架焊接一次合格率"
    assert finding.detail["year"] == 2022
    assert finding.detail["unit"] == "天津某座椅公司"
    sim = finding.detail["similarity"]
    assert isinstance(sim, float) and round(sim, 2) == sim and 0.75 <= sim <= 1
    assert "2022年" in finding.message and "提高汽车座椅骨架焊接一次合格率" in finding.message
    assert "天津某座椅公司" in finding.message and f"{sim:.2f}" in finding.message
    # A stricter campaign threshold lets it through.
    assert check_form(good_form(), past_index=PAST, threshold=0.99) == []


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("district", "朝阳区", "所属区"),
        ("project_type", "技术改造", "项目类型"),
        ("joint", "不确定", "是否联合申报"),
    ],
)
def test_bad_enumerations_are_invalid_values(field, value, label):
    findings = check_form(
        good_form(title="降低变速箱壳体焊缝裂纹不良率", **{field: value}),
        past_index=None,
        threshold=0.75,
    )
    (finding,) = findings
    assert finding.code == "INVALID_VALUE" and finding.severity == "error"
    assert finding.field == label and value in finding.message


def test_tolerant_spellings_of_enumerations_are_accepted():
    form = good_form(
        title="降低变速箱壳体焊缝裂纹不良率",
        district="天津市西青区",
        project_type="提质增效类",
        chain="汽车及新能源汽车产业链",
    )
    assert check_form(form, past_index=None, threshold=0.75) == []
    assert normalize_district("滨海") == "滨海新区"
    assert normalize_chain("高端装备产业链") == "高端装备"


def test_joint_application_without_partner_units_is_invalid():
    findings = check_form(
        good_form(title="降低变速箱壳体焊缝裂纹不良率", joint="是"), past_index=None, threshold=0.75
    )
    assert [(f.code, f.field) for f in findings] == [("INVALID_VALUE", "联合申报单位")]


def test_joint_application_gets_priority_note():
    form = good_form(
        title="降低变速箱壳体焊缝裂纹不良率", joint="是", joint_units="天津大学、天津某某焊接研究所"
    )
    (finding,) = check_form(form, past_index=None, threshold=0.75)
    assert finding.code == "JOINT_PRIORITY" and finding.severity == "info"
    assert "优先推荐" in finding.message


def test_chain_outside_the_focus_areas_is_info():
    (finding,) = check_form(
        good_form(title="降低变速箱壳体焊缝裂纹不良率", chain="其他"),
        past_index=None,
        threshold=0.75,
    )
    assert finding.code == "OUT_OF_FOCUS_AREA" and finding.severity == "info"
    (finding,) = check_form(
        good_form(title="降低变速箱壳体焊缝裂纹不良率", chain="纺织服装"),
        past_index=None,
        threshold=0.75,
    )
    assert finding.code == "OUT_OF_FOCUS_AREA" and "纺织服装" in finding.message


# --- reconcile ---------------------------------------------------------------------------------


def row_for(form: ApplicationForm, n: int, **changes) -> SummaryRow:
    data = dict(
        seq=str(n),
        title=form.title,
        applicant=form.applicant,
        uscc=form.uscc,
        district=form.district,
        chain=form.chain,
        project_type=form.project_type,
        joint=form.joint,
        project_lead=form.project_lead.name,
        phone=form.project_lead.phone,
        recommending_unit=form.recommending_unit,
        row_number=n + 2,
    )
    data.update(changes)
    return SummaryRow(**data)


FORM_A = good_form()
FORM_B = good_form(
    title="降低变速箱壳体焊缝裂纹不良率",
    applicant="天津某某变速箱有限公司",
    uscc=USCC2,
    district="南开区",
)


def test_matching_summary_gives_no_findings_despite_spacing_and_full_width():
    rows = [
        row_for(
            FORM_A,
            1,
            title=" 提高汽车座椅骨架 一次交检合格率",
            uscc=" ".join(USCC),
            district="天津市西青区",
        ),
        row_for(FORM_B, 2, joint="否 ", project_type="提质增效类"),
    ]
    result = reconcile([("a.docx", FORM_A), ("b.docx", FORM_B)], rows, "西青区汇总表.xlsx")
    assert result == {"a.docx": [], "b.docx": []}
    assert rows_without_form([("a.docx", FORM_A), ("b.docx", FORM_B)], rows) == []


def test_disagreeing_fields_are_mismatches_naming_both_values():
    rows = [
        row_for(FORM_A, 1, applicant="天津某某座椅有限公司", district="北辰区", joint="是"),
        row_for(FORM_B, 2),
    ]
    result = reconcile([("a.docx", FORM_A), ("b.docx", FORM_B)], rows, "汇总表.xlsx")
    assert result["b.docx"] == []
    found = {f.field: f for f in result["a.docx"]}
    assert set(found) == {"申报单位", "所属区", "是否联合申报"}
    district = found["所属区"]
    assert (
        district.code == "SUMMARY_MISMATCH"
        and district.severity == "error"
        and district.file == "a.docx"
    )
    assert (
        "西青区" in district.message
        and "北辰区" in district.message
        and "第3行" in district.message
    )
    assert district.detail["row_number"] == 3


def test_changed_title_is_found_through_the_credit_code():
    rows = [row_for(FORM_A, 1, title="提高座椅骨架焊接合格率")]
    result = reconcile([("a.docx", FORM_A)], rows, "汇总表.xlsx")
    (finding,) = result["a.docx"]
    assert finding.code == "SUMMARY_MISMATCH" and finding.field == "项目名称"


def test_form_missing_from_summary_and_row_without_form():
    forms = [("a.docx", FORM_A), ("b.docx", FORM_B)]
    orphan = SummaryRow(
        seq="2",
        title="缩短变压器交付周期",
        applicant="天津某变压器有限公司",
        uscc=make_uscc(random.Random(7)),
        row_number=4,
    )
    rows = [row_for(FORM_A, 1), orphan]
    result = reconcile(forms, rows, "汇总表.xlsx")
    assert result["a.docx"] == []
    (finding,) = result["b.docx"]
    assert (
        finding.code == "NOT_IN_SUMMARY"
        and finding.severity == "error"
        and "汇总表.xlsx" in finding.message
    )
    assert rows_without_form(forms, rows) == [orphan]
    (missing,) = missing_form_findings(forms, rows, "汇总表.xlsx")
    assert missing.code == "FORM_MISSING" and missing.file == "汇总表.xlsx"
    assert "缩短变压器交付周期" in missing.message and "第4行" in missing.message


def test_two_projects_of_one_unit_pair_by_title():
    form_c = good_form(title="降低座椅滑轨异响不良率")
    rows = [row_for(form_c, 1), row_for(FORM_A, 2)]
    result = reconcile([("a.docx", FORM_A), ("c.docx", form_c)], rows, "汇总表.xlsx")
    assert result == {"a.docx": [], "c.docx": []}


def test_duplicates_within_the_campaign():
    titles = [
        ("a.docx", "降低A产品焊接不良率"),
        ("b.docx", "降低A产品的焊接缺陷率"),
        ("c.docx", "降低B车间注塑件不良率"),
    ]
    dups = campaign_duplicates(titles, 0.75)
    assert set(dups) == {"a.docx", "b.docx"} and dups["a.docx"][0][0] == "b.docx"
    findings = campaign_duplicate_findings(titles, 0.75)
    (finding,) = findings["a.docx"]
    assert finding.code == "DUPLICATE_IN_CAMPAIGN" and "b.docx" in finding.message
    assert finding.detail["other"] == "b.docx"


def test_reconcile_can_include_campaign_duplicates():
    form_c = good_form(title="提升汽车座椅骨架的一次交检良品率")
    forms = [("a.docx", FORM_A), ("c.docx", form_c)]
    rows = [row_for(FORM_A, 1), row_for(form_c, 2)]
    assert reconcile(forms, rows, "汇总表.xlsx") == {"a.docx": [], "c.docx": []}
    result = reconcile(forms, rows, "汇总表.xlsx", duplicate_threshold=0.75)
    assert codes(result["a.docx"]) == ["DUPLICATE_IN_CAMPAIGN"]
    assert codes(result["c.docx"]) == ["DUPLICATE_IN_CAMPAIGN"]


def test_a_goal_without_a_measurable_indicator_is_a_warning():
    """二(二): 预期效益 empty and a goal of 「进一步提高产品质量」 -> one warning for each."""
    form = good_form(
        goal="到2026年9月，进一步提高产品质量。", economic_benefit="", social_benefit=""
    )
    found = [f for f in check_form(form, past_index=PAST, threshold=0.75)]
    warned = {f.field: f for f in found if f.code == "NO_MEASURABLE_INDICATOR"}
    assert set(warned) == {"攻关目标", "预期效益"}
    assert all(f.severity == "warning" for f in warned.values())
    assert "如“焊缝气孔不良率由3%降至1%以下”" in warned["攻关目标"].message
    fine = good_form(
        goal="交付周期由30天缩短至15天", economic_benefit="", social_benefit="年节约80万元"
    )
    assert "NO_MEASURABLE_INDICATOR" not in codes(check_form(fine, past_index=PAST, threshold=0.75))


def test_the_recommendation_opinion_is_required():
    found = check_form(good_form(recommendation_opinion=" "), past_index=PAST, threshold=0.75)
    assert [f.field for f in found if f.code == "MISSING_FIELD"] == ["推荐单位意见"]


def test_a_joint_application_led_by_a_chain_leader_is_flagged_first():
    form = good_form(joint="是", joint_units="天津大学")
    plain = codes(check_form(form, past_index=PAST, threshold=0.75))
    assert "JOINT_PRIORITY" in plain and "CHAIN_LEADER_PRIORITY" not in plain
    leader = codes(
        check_form(
            form,
            past_index=PAST,
            threshold=0.75,
            chain_leaders=["天津市某某汽车座椅有限公司"],
        )
    )
    assert "CHAIN_LEADER_PRIORITY" in leader and "JOINT_PRIORITY" in leader
    alone = good_form(joint="否")
    assert "CHAIN_LEADER_PRIORITY" not in codes(
        check_form(alone, past_index=PAST, threshold=0.75, chain_leaders=[alone.applicant])
    )
