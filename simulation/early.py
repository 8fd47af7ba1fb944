"""Synthetic but realistic participants for the demo: recommending units, applicant enterprises,
their application forms as Word files, summary tables, past excellent results, and the batches the
units drop in the commission's inbox at their own times."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook

from documents.application_form import PROJECT_TYPES, choice_text, write_filled_form
from documents.summary_table import write_summary
from documents.zip_patch import patched_zip
from domain.duplicates import PastResultIndex
from domain.eligibility import campaign_duplicates
from domain.models import (
    DISTRICTS,
    ApplicationForm,
    ContactPerson,
    PastResult,
    ProjectType,
    SummaryRow,
    TeamMember,
)
from domain.rubrics import KINDS, kind_from_title
from domain.uscc import make_uscc
from simulation.sheets import save_typed_register
from simulation.world import World

DISTRICT_DIVISIONS = {
    "和平区": "120101", "河东区": "120102", "河西区": "120103", "南开区": "120104",
    "河北区": "120105", "红桥区": "120106", "东丽区": "120110", "西青区": "120111",
    "津南区": "120112", "北辰区": "120113", "武清区": "120114", "宝坻区": "120115",
    "滨海新区": "120116", "宁河区": "120117", "静海区": "120118", "蓟州区": "120119",
}  # fmt: skip

CITY_UNITS = [
    ("CITY-GXJ", "天津市工业和信息化局", "市级行业主管部门"),
    ("CITY-WJW", "天津市卫生健康委员会", "市级行业主管部门"),
    ("ASSN-ZLXH", "天津市质量管理协会", "行业协会"),
    ("ASSN-HJXH", "天津市焊接协会", "行业协会"),
    ("ASSN-QCXH", "天津市汽车工业协会", "行业协会"),
    ("ASSN-YYXH", "天津市医药行业协会", "行业协会"),
]

# chain -> (objects, indicators, technical topics)
CHAIN_TOPICS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "焊材": (["药芯焊丝", "埋弧焊剂", "不锈钢焊条", "气体保护焊丝"],
             ["焊缝气孔不良率", "一次交检合格率", "飞溅率", "单位产品能耗"],
             ["焊丝表面镀铜层在线检测技术", "低飞溅药芯焊丝配方研制"]),
    "汽车及新能源汽车": (["汽车座椅骨架", "变速箱壳体", "动力电池包壳体", "转向节"],
                     ["一次交检合格率", "装配不良率", "生产节拍", "返修率"],
                     ["动力电池包气密性快速检测装置研制", "车身焊点质量在线监测技术"]),
    "生物医药": (["注射用冻干粉针", "口服固体制剂", "原料药结晶工序", "无菌灌装线"],
             ["批次合格率", "偏差发生率", "清场时间", "收率"],
             ["冻干曲线智能优化技术", "片剂溶出度快速预测方法研究"]),
    "信创": (["国产服务器主板", "嵌入式操作系统", "国产数据库中间件", "固态硬盘主控"],
           ["故障率", "一次通过率", "交付周期", "缺陷逃逸率"],
           ["服务器主板自动化测试平台研制", "国产数据库高可用切换技术"]),
    "新材料": (["碳纤维预浸料", "高性能聚酰亚胺薄膜", "特种合金板材", "光学级聚碳酸酯"],
            ["厚度波动", "表面缺陷率", "成品率", "单位能耗"],
            ["碳纤维预浸料树脂含量在线检测技术", "薄膜针孔缺陷视觉检测系统研制"]),
    "绿色石化": (["常减压装置", "乙烯裂解炉", "聚丙烯造粒工序", "催化裂化装置"],
             ["能耗", "非计划停工次数", "产品优级品率", "挥发性有机物排放量"],
             ["裂解炉管结焦在线监测技术", "聚丙烯熔指软测量模型研制"]),
    "车用燃料": (["车用汽油调和", "车用柴油", "乙醇汽油调配", "燃油添加剂"],
             ["调和一次合格率", "质量指标波动", "检验周期", "储运损耗率"],
             ["车用燃料全自动进气阀沉积物试验机研制", "汽油辛烷值快速检测技术"]),
    "光伏": (["单晶硅片", "光伏组件层压", "TOPCon电池片", "光伏接线盒"],
           ["碎片率", "隐裂率", "转换效率", "一次良率"],
           ["光伏组件隐裂智能识别技术", "硅片厚度在线检测装置研制"]),
    "电动自行车": (["电动自行车车架", "锂电池组", "电动自行车控制器", "轮毂电机"],
              ["焊接不良率", "返修率", "一次下线合格率", "客户投诉率"],
              ["电动自行车电池热失控预警技术", "车架焊缝自动检测装置研制"]),
    "高端装备": (["数控机床主轴", "盾构机刀盘", "工业机器人减速器", "液压油缸"],
             ["加工精度合格率", "装配周期", "故障停机时间", "返工率"],
             ["减速器回差在线检测技术", "主轴热变形补偿技术"]),
    "中医药": (["中药配方颗粒", "中药饮片炮制", "丸剂生产线", "中药提取浓缩工序"],
            ["含量均匀度合格率", "批间差异", "提取收率", "生产周期"],
            ["中药提取过程近红外在线监测技术", "饮片炮制程度智能判定方法研究"]),
    "5G信息技术": (["5G基站射频模块", "光模块", "通信机柜", "小基站"],
                ["一次直通率", "返修率", "交付周期", "现场故障率"],
                ["光模块高低温自动测试系统研制", "射频模块无源互调快速检测技术"]),
    "轻工": (["自行车链条", "日化洗涤剂", "包装纸箱", "不锈钢厨具"],
           ["外观不良率", "客户投诉率", "单位产品水耗", "交付及时率"],
           ["纸箱抗压强度在线预测技术", "洗涤剂灌装精度控制技术"]),
    "其他": (["政务服务窗口", "物业服务", "检验检测报告", "供水管网"],
           ["办结时限", "投诉率", "差错率", "漏损率"],
           ["检验检测报告智能审核技术", "供水管网漏损智能识别技术"]),
}  # fmt: skip

# indicators of defects, faults, losses and costs: 降低 them (every other rate is 提高)
BAD_WORDS = (
    "不良",
    "投诉",
    "差错",
    "故障",
    "缺陷",
    "返修",
    "返工",
    "偏差",
    "漏损",
    "飞溅",
    "碎片",
    "隐裂",
    "损耗",
)
VERBS = {"率": ["降低", "提高"], "": ["缩短", "降低", "提高"]}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏海波宁晨旭东雪梅琳颖浩宇博文佳欣"
BRAND_WORDS = "津华 海泰 滨港 渤星 宏达 金桥 瑞丰 恒通 鑫源 中环 北方 天元 新港 卫津 兴业 裕丰 泰达 和信 精工 华辰".split()
INDUSTRY_WORDS = {
    "焊材": "焊接材料", "汽车及新能源汽车": "汽车零部件", "生物医药": "制药", "信创": "信息技术",
    "新材料": "新材料科技", "绿色石化": "石化", "车用燃料": "能源科技", "光伏": "光伏科技",
    "电动自行车": "电动车", "高端装备": "重工装备", "中医药": "中药", "5G信息技术": "通信技术",
    "轻工": "日用品", "其他": "综合服务",
}  # fmt: skip


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


@dataclass
class PlannedApplication:
    form: ApplicationForm
    layout: str
    flaw: str = ""  # what rule the demo makes it break, for the story


@dataclass
class PlannedUnit:
    code: str
    name: str
    kind: str
    district: str | None
    email: str
    applications: list[PlannedApplication] = field(default_factory=list)
    submit_at: dt.datetime | None = None
    resubmit_at: dt.datetime | None = None  # fixes its returned forms before the deadline
    late: bool = False


@dataclass
class DemoPlan:
    units: list[PlannedUnit]
    past_results: list[tuple[int, str, str, str]]


def plan_units(rng: random.Random) -> list[PlannedUnit]:
    units = [
        PlannedUnit(
            code=f"DIST-{DISTRICT_DIVISIONS[d][-2:]}",
            name=f"天津市{d}市场监督管理局" if d != "滨海新区" else "天津市滨海新区市场监督管理局",
            kind="区市场监督管理部门",
            district=d,
            email=f"scjg{DISTRICT_DIVISIONS[d][-2:]}@tj.example.cn",
        )
        for d in DISTRICTS
    ]
    units += [
        PlannedUnit(code=c, name=n, kind=k, district=None, email=f"{c.lower()}@tj.example.cn")
        for c, n, k in CITY_UNITS
    ]
    return units


def _company(rng: random.Random, chain: str, district: str, used: set[str]) -> str:
    while True:
        brand = rng.choice(BRAND_WORDS) + rng.choice(BRAND_WORDS)[0]
        suffix = rng.choice(["有限公司", "股份有限公司", "有限责任公司"])
        name = f"天津{brand}{INDUSTRY_WORDS[chain]}{suffix}"
        if name not in used:
            used.add(name)
            return name


def _title(rng: random.Random, chain: str) -> tuple[str, str, str]:
    objects, indicators, technical = CHAIN_TOPICS[chain]
    if rng.random() < 0.18:
        return rng.choice(technical), "", ""
    obj, ind = rng.choice(objects), rng.choice(indicators)
    if any(w in ind for w in BAD_WORDS):  # defects, faults and costs go down
        verb = "降低"
    elif ind.endswith("率"):  # every other rate is a rate of good output: it goes up
        verb = "提高"
    elif ind.endswith(("周期", "时间", "时限", "节拍")):
        verb = "缩短"
    else:
        verb = "降低"
    prefix = rng.choice(["", "", "", "A型", "新型", "高强"]) if chain in {"焊材", "新材料"} else ""
    return f"{verb}{prefix}{obj}{ind}", obj, ind


def make_form(
    rng: random.Random, unit: PlannedUnit, chain: str, used_names: set[str], seq: int
) -> ApplicationForm:
    district = unit.district or rng.choice(DISTRICTS)
    applicant = _company(rng, chain, district, used_names)
    title, obj, ind = _title(rng, chain)
    if title in used_names:
        title = _with_model(rng, title)
    used_names.add(title)
    lead, quality = person_name(rng), person_name(rng)
    members = [
        TeamMember(
            name=person_name(rng),
            title=rng.choice(["工程师", "高级工程师", "技师", "质量主管"]),
            role=rng.choice(["技术攻关", "数据分析", "现场实施", "工艺改进"]),
        )
        for _ in range(MEMBERS_PER_FORM)
    ]
    joint = rng.random() < 0.15
    baseline = round(rng.uniform(2.0, 9.0), 1)
    target = round(baseline * rng.uniform(0.4, 0.7), 1)
    return ApplicationForm(
        title=title,
        applicant=applicant,
        uscc=make_uscc(rng, division=DISTRICT_DIVISIONS[district]),
        address=f"天津市{district}{rng.choice(['黄海路', '津塘路', '友谊路', '西青道', '京津公路'])}{rng.randint(1, 399)}号",
        district=district,
        chain=chain,
        project_type=rng.choice(list(ProjectType)).value,
        kind=kind_from_title(title),
        joint="是" if joint else "否",
        joint_units="天津大学；天津市产品质量监督检测技术研究院" if joint else "",
        recommending_unit=unit.name,
        project_lead=ContactPerson(
            name=lead,
            position=rng.choice(["生产部部长", "技术总监", "车间主任"]),
            phone=f"139{rng.randint(10000000, 99999999)}",
            email=f"lead{seq}@example.cn",
        ),
        quality_lead=ContactPerson(
            name=quality,
            position="质量负责人",
            phone=f"138{rng.randint(10000000, 99999999)}",
            email=f"quality{seq}@example.cn",
        ),
        members=members,
        start_date="2025-05",
        end_date="2025-09",
        problem=f"2024年{obj or title}的{ind or '关键质量指标'}为{baseline}%，高于行业先进水平，"
        f"造成返工和客户投诉，年损失约{rng.randint(30, 400)}万元。",
        goal=f"到2025年9月，将{ind or '关键指标'}由{baseline}%降至{target}%以下。",
        measures="运用PDCA循环和质量管理工具开展现状调查、要因确认，制定并实施对策，巩固措施并标准化。",
        economic_benefit=str(rng.randint(20, 500)),
        social_benefit="提升产品质量稳定性，减少资源浪费，带动产业链上下游质量协同提升。",
        foundation=rng.choice(
            ["已获发明专利2项", "主导制定团体标准1项", "获2023年天津市质量管理小组成果二等奖", "无"]
        ),
        integrity_promise="本单位承诺所提交的申报材料真实、准确、完整，如有虚假，愿承担相应责任。",
        recommendation_opinion="经核实，申报材料完整、真实，同意推荐。",
    )


def _break_rules(
    rng: random.Random,
    all_apps: list[PlannedApplication],
    past: list[tuple[int, str, str, str]],
    year: int,
) -> None:
    """About one form in twelve breaks a rule the intake checks (each rule in turn)."""
    flawed = rng.sample(all_apps, k=max(6, len(all_apps) // 12))
    flaws = [
        "name_unit", "name_framing", "uscc", "missing", "duplicate_past", "outside_tianjin",
        "duplicate_campaign",
    ]  # fmt: skip
    for n, app in enumerate(flawed):
        app.flaw = flaws[n % len(flaws)]
        f = app.form
        if app.flaw == "name_unit":
            short = f.applicant.removeprefix("天津").split("有限")[0].split("股份")[0]
            app.form = f.model_copy(update={"title": f"{short}{f.title}"})
        elif app.flaw == "name_framing":
            app.form = f.model_copy(update={"title": f"关于{f.title}的研究报告"})
        elif app.flaw == "uscc":
            app.form = f.model_copy(
                update={"uscc": f.uscc[:-1] + ("0" if f.uscc[-1] != "0" else "1")}
            )
        elif app.flaw == "missing":
            app.form = f.model_copy(update={"goal": ""})
        elif app.flaw == "duplicate_past":
            past.append((year - 2, _reword(f.title), f.applicant, ""))
        elif app.flaw == "duplicate_campaign":
            twin = next(a for a in all_apps if a is not app and not a.flaw)
            app.form = f.model_copy(update={"title": twin.form.title.replace("率", "的比率", 1)})
        elif app.flaw == "outside_tianjin":
            app.form = f.model_copy(update={"uscc": make_uscc(rng, division="110105")})


def _schedule(rng: random.Random, units: list[PlannedUnit], deadline: dt.datetime) -> None:
    """When each unit sends its batch, which units resend fixed forms, and the one late unit."""
    for unit in units:
        if not unit.applications:
            continue
        unit.submit_at = (
            deadline - dt.timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 8))
        ).replace(minute=rng.choice((5, 20, 35, 50)), second=0)
        fixable = [
            a
            for a in unit.applications
            if a.flaw in {"name_unit", "name_framing", "missing", "uscc"}
        ]
        if fixable and rng.random() < 0.6:
            unit.resubmit_at = min(
                unit.submit_at + dt.timedelta(days=rng.randint(1, 3)),
                deadline - dt.timedelta(hours=2),
            )
    # The late unit is one that has something to send (small demos leave some units empty).
    late_unit = [u for u in units if u.applications][-1]
    late_unit.late = True
    late_unit.submit_at = deadline + dt.timedelta(days=2, hours=-13)
    late_unit.resubmit_at = None


def plan_demo(world: World, rng: random.Random, projects: int) -> DemoPlan:
    """Who submits what and when; a few forms break rules, one unit is late, some resubmit."""
    units = plan_units(rng)
    chains = list(CHAIN_TOPICS)
    weights = [6 if c in {"焊材", "汽车及新能源汽车", "生物医药", "信创"} else 2 for c in chains]
    used: set[str] = set()
    for i in range(projects):
        unit = units[i % len(units)] if i < len(units) else rng.choice(units)
        chain = rng.choices(chains, weights)[0]
        if unit.code == "ASSN-HJXH":
            chain = "焊材"
        form = make_form(rng, unit, chain, used, i + 1)
        unit.applications.append(
            PlannedApplication(
                form=form, layout=rng.choice(["table", "table", "inline", "paragraphs"])
            )
        )

    all_apps = [a for u in units for a in u.applications]
    past: list[tuple[int, str, str, str]] = []
    # Past excellent results: mostly unrelated; a few that this year's forms reword.
    for _ in range(max(60, projects)):
        chain = rng.choice(chains)
        title, _o, _i = _title(rng, chain)
        past.append(
            (
                rng.randint(2019, world.year - 1),
                f"{title}（{rng.choice(['一期', '攻关', '改进'])}）" if title in used else title,
                f"天津{rng.choice(BRAND_WORDS)}有限公司",
                "",
            )
        )
    _break_rules(rng, all_apps, past, world.year)

    _make_distinct(rng, all_apps, past, world.config.rules.duplicate_threshold)

    _schedule(rng, units, world.calendar.application_deadline)
    return DemoPlan(units=units, past_results=past)


MODEL_CODE = re.compile(r"[A-Z]{2}\d{3}型")


def _with_model(rng: random.Random, title: str) -> str:
    """The same topic on another product model, as real titles name them ("JQ350型…")."""
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(2)) + str(
        rng.randint(100, 999)
    )
    title = MODEL_CODE.sub("", title)
    for verb in ("降低", "提高", "缩短"):
        if title.startswith(verb):
            return f"{verb}{code}型{title[2:]}"
    return f"{code}型{title}"


def _form_text(form: ApplicationForm) -> str:
    return f"{form.problem} {form.goal}"


def _make_distinct(
    rng: random.Random,
    apps: list[PlannedApplication],
    past: list[tuple[int, str, str, str]],
    threshold: float,
) -> None:
    """Only the forms meant to be duplicates may look like one: the others get their own
    product model until the campaign's own duplicate check finds nothing between them."""
    index = PastResultIndex(
        [PastResult(year=y, title=t, unit=u, abstract=a) for y, t, u, a in past]
    )
    meant = {id(a) for a in apps if a.flaw in {"duplicate_past", "duplicate_campaign"}}
    for _ in range(8):
        keyed = [(str(i), a.form.title) for i, a in enumerate(apps)]
        pairs = campaign_duplicates(keyed, threshold)
        redo = set()
        for i, app in enumerate(apps):
            if id(app) in meant:
                continue
            later_twin = any(int(k) < i for k, _s in pairs.get(str(i), []))
            if later_twin or index.match(
                app.form.title, _form_text(app.form), threshold=threshold, limit=1
            ):
                redo.add(i)
        if not redo:
            return
        for i in redo:
            apps[i].form = apps[i].form.model_copy(
                update={"title": _with_model(rng, apps[i].form.title)}
            )


def _reword(title: str) -> str:
    for a, b in (
        ("不良率", "的缺陷率"),
        ("合格率", "的合格品率"),
        ("周期", "的周期时间"),
        ("能耗", "的能源消耗"),
    ):
        if a in title:
            return title.replace(a, b, 1)
    return title + "（改进）"


def write_registers(plan: DemoPlan, folder: Path) -> tuple[Path, Path]:
    """The spreadsheets staff import: recommending units and past excellent results."""
    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "推荐单位"
    ws.append(["单位代码", "单位名称", "类型", "联系人", "电话", "邮箱"])
    for u in plan.units:
        contact = person_name(random.Random(u.code))  # 联系人: a person, named as 优秀组织者
        ws.append([u.code, u.name, u.kind, contact, "022-2" + u.code[-2:].rjust(7, "3"), u.email])
    units_path = save_typed_register(wb, folder / "推荐单位名录.xlsx", [12, 30, 10, 10, 16, 30])
    wb = Workbook()
    ws = wb.active
    ws.title = "历年优秀成果"
    ws.append(["年份", "项目名称", "单位", "摘要"])
    for year, title, unit, abstract in plan.past_results:
        ws.append([year, title, unit, abstract])
    past_path = save_typed_register(wb, folder / "历年优秀成果.xlsx", [8, 40, 30, 60])
    return units_path, past_path


def _fixed(app: PlannedApplication) -> ApplicationForm:
    f = app.form
    if app.flaw == "name_unit":
        return f.model_copy(update={"title": _strip_unit(f)})
    if app.flaw == "name_framing":
        return f.model_copy(
            update={"title": f.title.removeprefix("关于").removesuffix("的研究报告")}
        )
    if app.flaw == "missing":
        return f.model_copy(update={"goal": "到2025年9月，将关键质量指标降低50%以上。"})
    if app.flaw == "uscc":
        return f.model_copy(update={"uscc": make_uscc(random.Random(f.title), division="120116")})
    return f


def _strip_unit(f: ApplicationForm) -> str:
    short = f.applicant.removeprefix("天津").split("有限")[0].split("股份")[0]
    return f.title.removeprefix(short)


# Field paths of the form that vary between the demo's applications, each stood in for by a
# token in a template written once per layout with python-docx.
_TOKEN_FIELDS = (
    "title", "applicant", "uscc", "address", "district", "chain", "project_type", "kind",
    "joint", "joint_units", "recommending_unit", "project_lead.name", "project_lead.position",
    "project_lead.phone", "project_lead.email", "quality_lead.name", "quality_lead.position",
    "quality_lead.phone", "quality_lead.email", "problem", "goal", "measures",
    "economic_benefit", "social_benefit", "foundation", "integrity_promise",
    "recommendation_opinion",
)  # fmt: skip
# Choices the table layout shows as ticked boxes (☑提质增效  □节能降耗 …).
_BOX_CHOICES: dict[str, tuple[str, ...]] = {
    "project_type": PROJECT_TYPES,
    "kind": KINDS,
    "joint": ("是", "否"),
}
MEMBERS_PER_FORM = 4
_DOCUMENT_PART = "word/document.xml"


def _token(n: int) -> str:
    return f"QQZ{n:03d}ZQQ"


def _get(form: ApplicationForm, path: str) -> str:
    obj: object = form
    for part in path.split("."):
        obj = getattr(obj, part)
    return str(obj)


@dataclass(frozen=True)
class _Template:
    package: bytes  # the .docx python-docx wrote, tokens in document.xml
    pieces: tuple[str, ...]  # document.xml split around its tokens: text, token, text, …


def _load_template(package: bytes) -> _Template:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        if _DOCUMENT_PART not in zf.namelist():
            raise ValueError("template has no word/document.xml")
        pieces = tuple(TOKEN.split(zf.read(_DOCUMENT_PART).decode("utf-8")))
    return _Template(package, pieces)


class FormWriter:
    """Fills the demo's forms fast: python-docx writes one template per layout, and each form is
    that template with its own texts put into document.xml (the same XML Word would save); the
    package's other parts are copied byte for byte, still compressed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.templates: dict[str, _Template] = {}

    def _template(self, layout: str) -> _Template:
        if layout not in self.templates:
            values: dict[str, object] = {f: _token(n) for n, f in enumerate(_TOKEN_FIELDS)}
            nested: dict[str, dict[str, object]] = {"project_lead": {}, "quality_lead": {}}
            for field_path in list(values):
                if "." in field_path:
                    head, tail = field_path.split(".")
                    nested[head][tail] = values.pop(field_path)
            members = [
                TeamMember(
                    name=_token(900 + 3 * m), title=_token(901 + 3 * m), role=_token(902 + 3 * m)
                )
                for m in range(MEMBERS_PER_FORM)
            ]
            form = ApplicationForm.model_validate(
                {
                    **values,
                    **nested,
                    "members": members,
                    "start_date": "2025-05",
                    "end_date": "2025-09",
                }
            )
            path = self.folder / f"_template_{layout}.docx"
            self.folder.mkdir(parents=True, exist_ok=True)
            write_filled_form(path, form, layout=layout)
            self.templates[layout] = _load_template(path.read_bytes())
            path.unlink()
        return self.templates[layout]

    def write(self, path: Path, form: ApplicationForm, layout: str) -> None:
        template = self._template(layout)
        values: dict[str, str] = {}
        for n, f in enumerate(_TOKEN_FIELDS):
            value = _get(form, f)
            if layout == "table" and f in _BOX_CHOICES:
                value = choice_text(_BOX_CHOICES[f], value)
            values[_token(n)] = value
        for m in range(MEMBERS_PER_FORM):
            member = form.members[m] if m < len(form.members) else TeamMember(name="")
            values[_token(900 + 3 * m)] = member.name
            values[_token(901 + 3 * m)] = member.title
            values[_token(902 + 3 * m)] = member.role
        pieces = template.pieces
        xml = "".join(
            xml_escape(values[piece]) if i % 2 else piece for i, piece in enumerate(pieces)
        )
        # the other parts are copied still compressed; only document.xml is deflated again
        path.write_bytes(patched_zip(template.package, {_DOCUMENT_PART: xml.encode("utf-8")}))


TOKEN = re.compile(r"(QQZ\d{3}ZQQ)")


def prepare_batches(plan: DemoPlan, staging: Path) -> None:
    """Every unit's Word forms and summary table, written up front; the units "send" them later
    by copying them into the inbox at their own time."""
    writer = FormWriter(staging)
    for unit in plan.units:
        for version, when in ((1, unit.submit_at), (2, unit.resubmit_at)):
            if when is None or not unit.applications:
                continue
            folder = staging / unit.code / f"v{version}"
            folder.mkdir(parents=True, exist_ok=True)
            rows: list[SummaryRow] = []
            for n, (app, form) in enumerate(
                zip(unit.applications, _batch_forms(unit, version), strict=True), 1
            ):
                writer.write(folder / f"{n:02d}_{form.applicant}_申报书.docx", form, app.layout)
                rows.append(
                    SummaryRow(
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
                        recommending_unit=unit.name,
                    )
                )
            write_summary(folder / f"{unit.name}_立项申报汇总表.xlsx", rows, unit.name)


def _batch_forms(unit: PlannedUnit, version: int) -> list[ApplicationForm]:
    return [_fixed(app) if version > 1 else app.form for app in unit.applications]


def mail_batch(
    world: World, unit: PlannedUnit, version: int, received_at: dt.datetime, staging: Path
) -> Path:
    """A unit mails its batch (the forms and the 汇总表 zipped) to the commission's mailbox, where
    it lands at its time of arrival; a marker in the unit's own sent folder says it went."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((staging / unit.code / f"v{version}").iterdir()):
            archive.write(path, path.name)
    world.send_mail(
        unit.email,
        received_at,
        f"{unit.name}报送{world.year}年质量攻关项目申报材料（第{version}版）",
        {f"{unit.name}_申报材料_v{version}.zip": buffer.getvalue()},
        f"{unit.code.lower()}.v{version}.{world.year}",
    )
    sent = world.out_dir / "units" / unit.code / "sent" / f"v{version}.txt"
    sent.parent.mkdir(parents=True, exist_ok=True)
    sent.write_text(received_at.isoformat(), encoding="utf-8")
    return sent


def simulate_submissions(world: World, plan: DemoPlan, staging: Path) -> None:
    """Every batch whose time has come is mailed to the commission (idempotent: each is sent
    once), and the mailbox is polled at the schedule's next 10-minute mark after each arrival,
    as the served `poll-mailbox` deployment does."""
    arrivals: list[dt.datetime] = []
    for unit in plan.units:
        if not unit.applications:
            continue
        for version, when in ((1, unit.submit_at), (2, unit.resubmit_at)):
            if when is None or when > world.now:
                continue
            if not (world.out_dir / "units" / unit.code / "sent" / f"v{version}.txt").exists():
                mail_batch(world, unit, version, when, staging)
                arrivals.append(when)
    world.poll_after(arrivals)
