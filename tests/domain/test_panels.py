import random

import pytest

from domain.models import CHAINS, ExpertProfile
from domain.panels import (
    PanelDrawError,
    ResultToEvaluate,
    conflict_reasons,
    draw_panels,
    replace_decliner,
)


def dataset(seed: int = 3, n_results: int = 240, n_experts: int = 90):
    """Few units, so experts often work at applicants, joint units or recommending units."""
    rng = random.Random(seed)
    chains = list(CHAINS[:6])
    units = [f"天津单位{i:02d}" for i in range(25)]
    recommenders = ["河西区市场监督管理局", "滨海新区市场监督管理局", "天津市焊接协会"]
    experts = [
        ExpertProfile(
            key=f"E{i:03d}",
            name=f"专家{i}",
            organisation=rng.choice(units + recommenders),
            fields=rng.sample(chains, rng.choice([1, 2])),
            recused_units=[rng.choice(units)] if rng.random() < 0.3 else [],
        )
        for i in range(n_experts)
    ]
    results = [
        ResultToEvaluate(
            key=f"R{i:04d}",
            chain=rng.choice(chains),
            applicant=rng.choice(units),
            joint_units=rng.sample(units, rng.choice([0, 1, 2])),
            recommending_unit=rng.choice(recommenders),
            members=[f"成员{rng.randrange(300)}" for _ in range(4)]
            + ([rng.choice(experts).name] if rng.random() < 0.15 else []),
        )
        for i in range(n_results)
    ]
    return results, experts


def has_conflict(e: ExpertProfile, r: ResultToEvaluate) -> bool:
    """Independent statement of the recusal rule, for checking the draw."""
    units = {r.applicant, r.recommending_unit, *r.joint_units}
    return e.organisation in units or bool(set(e.recused_units) & units) or e.name in r.members


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_expert_ever_scores_a_result_they_must_recuse_from(seed):
    results, experts = dataset(seed)
    draw = draw_panels(results, experts, seed=seed, min_size=5, reserves=2, max_results=20)
    by_r = {r.key: r for r in results}
    by_e = {e.key: e for e in experts}
    conflicts_seen = 0
    for panel in draw.panels:
        assert len(panel.members) == 5
        assert len(set(panel.members + panel.reserves)) == len(panel.members + panel.reserves)
        for rk in panel.result_keys:
            for ek in panel.members + panel.reserves:
                assert not has_conflict(by_e[ek], by_r[rk]), (ek, rk)
    for r in results:
        conflicts_seen += sum(has_conflict(e, r) for e in experts)
    assert conflicts_seen > 100  # the data really is full of conflicts
    # Every result is either on exactly one panel or reported.
    placed = [rk for p in draw.panels for rk in p.result_keys]
    assert len(placed) == len(set(placed))
    assert set(placed) | {u.result_key for u in draw.unassigned} == set(by_r)
    # The recusal record lists exactly the conflicting pairs, each with a reason.
    recorded = {(rc.expert_key, rc.result_key) for rc in draw.recusals}
    expected = {(e.key, r.key) for r in results for e in experts if has_conflict(e, r)}
    assert recorded == expected
    assert all(rc.reason for rc in draw.recusals)


def test_same_seed_same_draw_different_seed_different_draw():
    results, experts = dataset()
    a = draw_panels(results, experts, seed=2025)
    b = draw_panels(results, experts, seed=2025)
    c = draw_panels(results, experts, seed=2026)
    assert a.model_dump() == b.model_dump()
    assert a.seed == 2025 and a.inputs_digest == c.inputs_digest
    assert [p.members for p in a.panels] != [p.members for p in c.panels]


def test_recusal_reasons_in_chinese():
    e = ExpertProfile(
        key="E1", name="王工", organisation="天津甲公司（集团）", recused_units=["天津乙公司"]
    )
    r = ResultToEvaluate(
        key="R1",
        chain="高端装备",
        applicant="天津甲公司(集团)",  # half-width brackets: still the same unit
        joint_units=["天津乙公司"],
        recommending_unit="天津市装备制造业协会",
        members=["王工", "李工"],
    )
    reasons = conflict_reasons(e, r)
    assert any("申报单位" in x for x in reasons)
    assert any("声明回避" in x and "天津乙公司" in x for x in reasons)
    assert "本人为项目组成员" in reasons
    rec = ExpertProfile(key="E2", name="赵工", organisation="天津市装备制造业协会")
    assert conflict_reasons(rec, r) == ["本人所在单位为推荐单位（天津市装备制造业协会）"]
    joint = ExpertProfile(key="E3", name="钱工", organisation="天津乙公司")
    assert conflict_reasons(joint, r) == ["本人所在单位为联合申报单位（天津乙公司）"]
    assert conflict_reasons(ExpertProfile(key="E4", name="孙工", organisation="南开大学"), r) == []


def test_panel_is_split_when_no_expert_set_fits_all_results():
    experts = [
        ExpertProfile(key=f"A{i}", name=f"甲{i}", organisation="甲公司", fields=["新材料"])
        for i in range(5)
    ] + [
        ExpertProfile(key=f"B{i}", name=f"乙{i}", organisation="乙公司", fields=["新材料"])
        for i in range(5)
    ]
    experts += [
        ExpertProfile(key=f"C{i}", name=f"丙{i}", organisation="丙大学", fields=["中医药"])
        for i in range(5)
    ]
    results = [
        ResultToEvaluate(key="R1", chain="新材料", applicant="甲公司", recommending_unit="协会"),
        ResultToEvaluate(key="R2", chain="新材料", applicant="乙公司", recommending_unit="协会"),
    ]
    draw = draw_panels(results, experts, seed=1, reserves=0)
    assert len(draw.panels) == 2
    panel_r1 = draw.panel_of("R1")
    panel_r2 = draw.panel_of("R2")
    assert panel_r1 is not None and panel_r2 is not None
    assert sorted(panel_r1.members) == [f"B{i}" for i in range(5)]
    assert sorted(panel_r2.members) == [f"A{i}" for i in range(5)]
    assert panel_r1.match_tier == 0 and panel_r1.match_note == ""


def test_falls_back_to_related_chain_and_says_so():
    experts = [
        ExpertProfile(key=f"S{i}", name=f"生{i}", organisation=f"药企{i}", fields=["生物医药"])
        for i in range(3)
    ] + [
        ExpertProfile(key=f"T{i}", name=f"中{i}", organisation=f"中药{i}", fields=["中医药"])
        for i in range(4)
    ]
    results = [ResultToEvaluate(key="R1", chain="生物医药", applicant="某药业")]
    draw = draw_panels(results, experts, seed=9, reserves=1)
    (panel,) = draw.panels
    assert {f"S{i}" for i in range(3)} <= set(panel.members)  # specialists first
    assert panel.match_tier == 1 and "相关领域" in panel.match_note
    assert len(panel.reserves) == 1


def test_reserves_may_come_from_related_chain_while_members_match():
    experts = [
        ExpertProfile(key=f"S{i}", name=f"生{i}", organisation=f"药企{i}", fields=["生物医药"])
        for i in range(5)
    ] + [
        ExpertProfile(key=f"T{i}", name=f"中{i}", organisation=f"中药{i}", fields=["中医药"])
        for i in range(2)
    ]
    draw = draw_panels([ResultToEvaluate(key="R1", chain="生物医药")], experts, seed=1)
    (panel,) = draw.panels
    assert sorted(panel.members) == [f"S{i}" for i in range(5)]
    assert sorted(panel.reserves) == ["T0", "T1"]
    assert panel.match_tier == 0 and panel.shortfall_note == ""


def test_load_is_balanced_and_capped():
    experts = [
        ExpertProfile(key=f"E{i}", name=f"专家{i}", organisation=f"单位{i}", fields=["信创"])
        for i in range(10)
    ]
    results = [ResultToEvaluate(key=f"R{i}", chain="信创", applicant=f"企业{i}") for i in range(4)]
    draw = draw_panels(results, experts, seed=5, reserves=0, max_results=2)
    assert len(draw.panels) == 2
    assert draw.load == {f"E{i}": 1 for i in range(10)}  # nobody sits twice while others idle
    capped = draw_panels(results, experts, seed=5, reserves=0, max_results=1, max_load=1)
    assert len(capped.panels) == 2
    assert {u.result_key for u in capped.unassigned} == {"R2", "R3"}
    assert all("不足" in u.reason for u in capped.unassigned)


def test_bad_settings_are_refused():
    with pytest.raises(PanelDrawError, match="奇数"):
        draw_panels([], [], seed=1, min_size=4)
    dup = [ResultToEvaluate(key="R1"), ResultToEvaluate(key="R1")]
    with pytest.raises(PanelDrawError, match="R1"):
        draw_panels(dup, [], seed=1)


def test_replace_decliner_takes_first_clean_reserve_and_records_it():
    results, experts = dataset()
    draw = draw_panels(results, experts, seed=11, reserves=2)
    panel = next(p for p in draw.panels if len(p.reserves) == 2)
    decliner = panel.members[2]
    first_reserve = panel.reserves[0]
    new, replacement = replace_decliner(draw, panel.panel_id, decliner)
    assert replacement == first_reserve
    new_panel = new.panel(panel.panel_id)
    assert new_panel.members[2] == first_reserve and decliner not in new_panel.members
    assert decliner in new_panel.declined
    assert new.replacements[-1].replacement == first_reserve
    assert "递补" in new.replacements[-1].note
    assert draw.panel(panel.panel_id).members == panel.members  # the original is untouched
    assert new.load.get(first_reserve, 0) == draw.load.get(first_reserve, 0) + 1


def test_replace_decliner_skips_conflicted_reserve():
    results, experts = dataset()
    draw = draw_panels(results, experts, seed=11, reserves=2)
    panel = draw.panels[0]
    conflicted = next(rc.expert_key for rc in draw.recusals if rc.result_key in panel.result_keys)
    panel.reserves.insert(0, conflicted)  # e.g. a reserve list edited by hand
    new, replacement = replace_decliner(draw, panel.panel_id, panel.members[0])
    assert replacement is not None and replacement != conflicted
    assert conflicted in new.replacements[-1].note
    # With the reserves used up, the panel asks for a supplementary draw.
    for _ in range(3):
        member = new.panel(panel.panel_id).members[0]
        new, replacement = replace_decliner(new, panel.panel_id, member)
    assert replacement is None
    assert "补充抽取" in new.replacements[-1].note
