"""Benchmark of the duplicate check: N applications against M past excellent results.

    uv run python bench/bench_duplicates.py [--apps 10000] [--past 20000] [--seed 7] [--no-text]

Synthetic titles combine ~120 objects (products, parts, services; half with one of ~30 modifiers such as 大口径 or
新能源汽车, some with a model number),
~40 processes, ~35 defects or characteristics, the usual direction verbs and indicators, and
technical-topic templates; about 8% of the applications are rewordings of a past result (synonyms,
的, reordered verbs, a dropped process word), as happens when a unit resubmits an old topic.
Prints the wall time of each stage and how many applications were flagged.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.duplicates import PastResultIndex, campaign_duplicates  # noqa: E402
from domain.models import PastResult  # noqa: E402

PRODUCTS = """汽车座椅骨架 铝合金轮毂 油浸式变压器 干式变压器 锂电池极片 动力电池模组 电机控制器 光伏组件
单晶硅片 药芯焊丝 不锈钢焊条 埋弧焊丝 注塑保险杠 车用汽油 车用柴油 集成电路封装基板 晶圆 航空紧固件
中药饮片 中药配方颗粒 口服固体制剂 疫苗西林瓶 电动自行车车架 电动自行车控制器 轮胎胎面 钢丝帘线
无缝钢管 石油套管 热轧带钢 冷轧薄板 镀锌钢板 铝型材 铜箔 电解液 正极材料 负极石墨 隔膜 盾构机刀盘
风电齿轮箱 风电叶片 液压支架 数控机床主轴 工业机器人减速器 伺服电机 变频器 高压开关柜 电缆 光纤预制棒
5G基站天线 服务器主板 液晶面板 手机摄像模组 印制电路板 汽车线束 发动机缸体 曲轴 变速箱壳体 制动盘
转向节 安全气囊 汽车仪表板 车灯 空调压缩机 冰箱门体 洗衣机滚筒 自行车轮组 啤酒 乳制品 方便面 速冻水饺
卷烟 纸箱 塑料薄膜 涂料 乙烯裂解炉 聚丙烯粒子 润滑油 沥青 混凝土预制构件 钢结构桥梁 船用柴油机
直升机旋翼 卫星太阳翼 火箭贮箱 航空发动机叶片 医用导管 骨科植入物 体外诊断试剂 医用口罩 输液器
智能电表 水表 燃气表 电梯曳引机 起重机吊钩 压力容器 锅炉 阀门 泵体 密封件 轴承套圈 齿轮 弹簧 螺栓""".split()

PROCESSES = """焊接 注塑 涂装 冲压 装配 铸造 压铸 热处理 机加工 喷涂 包装 检验 涂布 辊压 分切 封装 镀锌 轧制
拉拔 锻造 成型 固化 烧结 灌装 发酵 提取 制粒 压片 清洗 烘干 研磨 抛光 贴片 回流焊 打磨 调试 总装 检测""".split()

DEFECTS = """气孔 裂纹 尺寸偏差 外观不良 漏液 虚焊 毛刺 变形 划伤 夹渣 缩孔 色差 起皮 漏油 异响 振动 锈蚀
厚度一致性 表面粗糙度 含量偏差 杂质 微生物超标 装配间隙 密封性 平面度 同轴度 硬度 强度 噪声 温升 泄漏 短路
掉漆 开裂 错漏装""".split()

RATES = ["不良率", "缺陷率", "一次交检合格率", "合格率", "返修率", "报废率", "不合格率", "良品率"]
OTHER = ["生产周期", "交付周期", "单位能耗", "制造成本", "故障率", "换型时间", "设备停机时间"]
UP = ["提高", "提升"]
DOWN = ["降低", "减少", "缩短"]
SERVICES = """企业开办 不动产登记 特种设备检验 计量器具检定 产品认证 标准备案 门诊挂号 住院结算 物流配送
售后维修 客户投诉处理 出口报关 政务热线 电力报装 供水抢修""".split()
TECH = [
    "在线检测技术",
    "自动化检测装置研制",
    "智能监测系统研制",
    "无损检测技术",
    "快速检测方法",
    "寿命预测技术",
    "关键工艺技术",
    "试验机研制",
    "国产化替代技术",
    "数字孪生质量管控技术",
]
MODIFIERS = """新能源汽车 乘用车 商用车 大口径 高强度 薄壁 精密 大功率 小型 超薄 高纯 耐高温 耐腐蚀 低温
轻量化 智能 高速 重型 微型 海洋工程用 核电用 轨道交通用 医用 食品级 电子级 特高压 出口 高端 大尺寸""".split()
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def model_number(rng: random.Random) -> str:
    return f"{rng.choice(LETTERS)}{rng.choice(LETTERS)}-{rng.randint(1, 99) * 10}型"


def make_title(rng: random.Random) -> str:
    product = rng.choice(PRODUCTS)
    if rng.random() < 0.5:
        product = rng.choice(MODIFIERS) + product
    if rng.random() < 0.15:
        product = model_number(rng) + product
    process = rng.choice(PROCESSES)
    defect = rng.choice(DEFECTS)
    kind = rng.random()
    if kind < 0.55:
        rate = rng.choice(RATES)
        if rate in ("一次交检合格率", "合格率", "良品率"):
            return f"{rng.choice(UP)}{product}{process}{rate}"
        return f"{rng.choice(DOWN[:2])}{product}{process}{defect}{rate}"
    if kind < 0.75:
        other = rng.choice(OTHER)
        verb = "缩短" if other.endswith(("周期", "时间")) else rng.choice(DOWN[:2])
        return f"{verb}{product}{process}{other}"
    if kind < 0.92:
        tech = rng.choice(TECH)
        return f"{product}{defect}{tech}" if rng.random() < 0.5 else f"{product}{process}{tech}"
    service = rng.choice(SERVICES)
    return rng.choice([f"缩短{service}办理时间", f"提高{service}服务满意度", f"优化{service}流程"])


REWORDINGS = [
    ("不良率", "缺陷率"),
    ("缺陷率", "不合格率"),
    ("合格率", "良品率"),
    ("提高", "提升"),
    ("降低", "减少"),
    ("时间", "时长"),
    ("研制", "的研发"),
    ("技术", "技术研究与应用"),
]


def reword(rng: random.Random, title: str) -> str:
    for old, new in rng.sample(REWORDINGS, k=3):
        if old in title:
            title = title.replace(old, new, 1)
    for process in PROCESSES:
        if process in title and rng.random() < 0.3:
            title = title.replace(process, process + "工序", 1)
            break
    if rng.random() < 0.3 and len(title) > 6:
        title = title[:4] + "的" + title[4:]
    return title


PROBLEM = [
    "目前{t}存在明显短板，近一年统计{d}问题占全部质量损失的{p}%。",
    "{t}一直是公司的质量瓶颈，{m}月份以来客户投诉{n}起，主要集中在{d}。",
    "经统计，{t}过程中{d}频发，造成返工返修，月均损失约{n}万元。",
    "现有工艺条件下{t}波动较大，{d}控制能力不足，过程能力指数仅为0.{n}。",
    "上级单位和下游客户对{t}提出更高要求，现状与目标差距约{p}个百分点。",
    "项目组对{m}月至{n}月的生产数据进行分层分析，发现{d}是主要症结。",
]
CAUSE = [
    "经鱼骨图分析和现场验证，确定末端因素为设备老化、参数设置不合理和检验手段落后。",
    "主要原因包括作业指导书不完善、员工技能参差不齐、原材料批次差异大。",
    "通过试验设计找出温度、压力、速度三个关键因子的交互影响。",
    "工装夹具定位精度不足、在线检测缺失是造成问题的直接原因。",
    "供应商来料质量不稳定，进货检验抽样方案不合理。",
]
GOAL = [
    "目标：{y}年底前将关键指标改善{p}%以上，年节约成本{n}万元。",
    "攻关目标为指标达到行业先进水平，形成企业标准{k}项、专利{k}件。",
    "计划通过PDCA循环，使{d}发生率下降{p}%，客户满意度提升到9{k}分。",
    "预期形成可推广的工艺规范，在{k}条产线推广应用。",
]


def make_text(rng: random.Random, title: str) -> str:
    words = {
        "t": title,
        "d": rng.choice(DEFECTS),
        "p": rng.randint(5, 60),
        "n": rng.randint(3, 90),
        "m": rng.randint(1, 6),
        "k": rng.randint(1, 5),
        "y": rng.randint(2025, 2027),
    }
    parts = [*rng.sample(PROBLEM, 2), rng.choice(CAUSE), rng.choice(GOAL)]
    return "".join(p.format(**words) for p in parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--past", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=0.75)
    parser.add_argument("--no-text", action="store_true", help="titles only, no problem/abstract")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes for the past-result match"
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    past: list[PastResult] = []
    for i in range(args.past):
        title = make_title(rng)
        abstract = "" if args.no_text else make_text(rng, title)
        past.append(PastResult(year=2010 + i % 15, title=title, unit=f"单位{i}", abstract=abstract))
    apps: list[tuple[str, str, str]] = []
    for i in range(args.apps):
        title = reword(rng, rng.choice(past).title) if rng.random() < 0.08 else make_title(rng)
        apps.append((f"申报书{i:05d}.docx", title, "" if args.no_text else make_text(rng, title)))

    c0, t0 = time.process_time(), time.perf_counter()
    index = PastResultIndex(past)
    c1, t1 = time.process_time(), time.perf_counter()
    results = index.match_many(
        [(t, x) for _, t, x in apps], threshold=args.threshold, limit=3, workers=args.workers
    )
    flagged = sum(1 for found in results if found)
    c2, t2 = time.process_time(), time.perf_counter()
    dups = campaign_duplicates(
        [(k, t) for k, t, _ in apps], args.threshold, texts={k: x for k, _, x in apps}
    )
    c3, t3 = time.process_time(), time.perf_counter()

    print(f"past results: {len(past)}, applications: {len(apps)}, threshold {args.threshold}")
    print(f"workers for the past-result match: {args.workers}; wall s / CPU s of this process")
    print(f"index build:            {t1 - t0:6.2f} / {c1 - c0:6.2f}")
    print(
        f"match against past:     {t2 - t1:6.2f} / {c2 - c1:6.2f}  ({flagged} applications flagged)"
    )
    print(
        f"duplicates in campaign: {t3 - t2:6.2f} / {c3 - c2:6.2f}  ({len(dups)} applications involved)"
    )
    print(f"total:                  {t3 - t0:6.2f} / {c3 - c0:6.2f}")


if __name__ == "__main__":
    main()
