import pytest

from domain.naming import check_title, unit_name_variants


def rules(title, applicant="", joint_units="", **kw):
    findings = check_title(title, applicant, joint_units, **kw)
    for f in findings:
        assert f.code == "NAME_GUIDE"
        assert f.severity == "error"
        assert f.field == "项目名称"
        assert "请" in f.message  # every message says how to fix
    return {f.detail["rule"] for f in findings}


@pytest.mark.parametrize(
    "title",
    [
        "降低A产品焊接不良率",
        "提高汽车座椅骨架一次交检合格率",
        "缩短变压器交付周期",
        "车用燃料全自动进气阀沉积物试验机研制",
        "金属焊接件早期疲劳检测技术",
        "降低XK-200型变速箱壳体气孔不良率",
        "提高Φ50（XK-200型）无缝钢管壁厚合格率",
        "提高0.5mm电解铜箔厚度一致性",
        "降低注塑机单位产品能耗",
        "缩短门诊患者平均候诊时间",
        "提高锂电池极片涂布面密度一致性",
    ],
)
def test_good_titles_are_accepted(title):
    assert check_title(title, "天津市某某精密机械有限公司") == []


def test_empty_title_is_left_to_missing_field_check():
    assert check_title("   ") == []


def test_unit_name_and_its_short_form_are_flagged():
    applicant = "天津力神电池股份有限公司"
    assert unit_name_variants(applicant)[-1] == "力神"
    for title in (
        "提高天津力神电池股份有限公司极片合格率",
        "提高力神电池极片涂布合格率",
        "降低力神极片毛刺不良率",
    ):
        findings = check_title(title, applicant)
        assert [f.detail["rule"] for f in findings] == ["unit_name"]
        assert "请删去单位名称" in findings[0].message
        assert "动词+对象+特性" in findings[0].message


def test_joint_unit_name_is_flagged_too():
    assert rules(
        "提高天锻压力机液压系统可靠性", "天津某某机械有限公司", "天津市天锻压力机有限公司、天津大学"
    ) == {"unit_name"}


def test_trade_words_of_a_unit_name_are_not_forbidden():
    # The company is named after its trade; the trade itself may appear in the title.
    assert rules("降低药芯焊接材料飞溅率", "天津焊接材料有限公司") == set()
    assert rules("提高焊缝一次探伤合格率", "天津大学") == set()


@pytest.mark.parametrize(
    "title",
    [
        "关于提高焊缝质量的研究",
        "浅谈汽车座椅骨架焊接质量控制",
        "汽车座椅骨架焊接质量问题探讨",
        "论变压器绕组质量控制",
        "变压器绕组质量研究报告",
    ],
)
def test_essay_framings_are_flagged(title):
    assert "framing" in rules(title)


def test_slogans_are_flagged():
    findings = check_title("打造一流焊接品质助力高质量发展")
    slogan = next(f for f in findings if f.detail["rule"] == "slogan")
    assert "打造" in slogan.message and "高质量发展" in slogan.message


@pytest.mark.parametrize(
    "title",
    [
        "降低焊缝气孔不良率！",
        "降低焊缝气孔、夹渣不良率",
        "降低“A产品”焊接不良率",
        "《焊缝气孔控制》攻关",
        "焊缝气孔控制：提高探伤合格率",
        "汽车座椅骨架焊接——基于QC方法",
    ],
)
def test_punctuation_is_flagged(title):
    assert "punctuation" in rules(title)


def test_punctuation_message_names_the_marks():
    (finding,) = [
        f for f in check_title("降低焊缝气孔、夹渣不良率") if f.detail["rule"] == "punctuation"
    ]
    assert "「、」" in finding.message


def test_length_limits():
    long_title = "基于数字孪生和机器视觉的新能源汽车动力电池模组焊接缺陷在线检测技术研究与应用"
    finding = next(f for f in check_title(long_title) if f.detail["rule"] == "too_long")
    assert f"共{len(long_title)}个字" in finding.message and "30" in finding.message
    assert "too_long" not in rules(long_title, max_len=40)
    assert "too_short" in rules("降低能耗")


@pytest.mark.parametrize(
    "title",
    [
        "提升管理水平",
        "质量改进项目",
        "提高产品质量",
        "提高一次交检合格率",
        "提高服务满意度",
        "全面提升企业质量管理水平",
    ],
)
def test_vague_titles_are_flagged(title):
    assert "vague" in rules(title)
