"""Evaluation panels (评定组): drawing experts at random, with recusal (回避).

Rules implemented here:

* Results are grouped by industry chain (or, when a result has no chain, by its field) and cut
  into panels of at most `max_results` results each; results of the same recommending unit are
  kept together, since conflicts of interest follow units.
* A panel's members are drawn from experts whose `fields` include the chain. When too few such
  experts are free of conflicts, the draw widens to experts of related chains (`RELATED_CHAINS`),
  then to any expert, and records that in Chinese in `Panel.match_note`. Reserves (备选专家)
  are drawn the same way and may come from a wider tier than the members.
* Recusal: an expert may not sit on a panel that scores a result when their organisation is the
  applicant, a joint applicant or the recommending unit, when they declared the unit in
  `recused_units`, or when their name is among the project members. A panel's members and reserves
  have no conflict with *any* result of that panel; when no such set of experts exists the
  panel's results are split in two (recursively) until one exists, or the result is reported as
  not assigned. Every conflict found between an expert and a result is listed in
  `PanelDraw.recusals` with its reason.
* The draw is random with `random.Random(seed)`: the same inputs and seed give the same draw.
  Among eligible experts the draw prefers the best specialty match, then experts with fewer seats
  so far (load balancing), then chance. `max_load` caps the panels one expert sits on.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from domain.models import OTHER_CHAIN, ExpertProfile

# Chains close enough that an expert of one can score the other when specialists run short.
RELATED_CHAINS: dict[str, tuple[str, ...]] = {
    "信创": ("集成电路", "人工智能", "大数据", "5G信息技术"),
    "集成电路": ("信创", "5G信息技术", "人工智能"),
    "人工智能": ("信创", "大数据", "集成电路", "5G信息技术"),
    "大数据": ("信创", "人工智能", "5G信息技术"),
    "5G信息技术": ("信创", "车联网", "大数据", "集成电路"),
    "车联网": ("汽车及新能源汽车", "5G信息技术", "人工智能"),
    "汽车及新能源汽车": ("车联网", "新能源", "电动自行车", "车用燃料", "高端装备"),
    "电动自行车": ("汽车及新能源汽车", "新能源", "轻工"),
    "新能源": ("光伏", "汽车及新能源汽车", "绿色石化"),
    "光伏": ("新能源", "新材料", "集成电路"),
    "高端装备": ("航空航天", "焊材", "汽车及新能源汽车"),
    "航空航天": ("高端装备", "新材料", "焊材"),
    "焊材": ("高端装备", "新材料"),
    "新材料": ("绿色石化", "焊材", "航空航天", "光伏"),
    "绿色石化": ("新材料", "车用燃料", "新能源"),
    "车用燃料": ("绿色石化", "汽车及新能源汽车"),
    "生物医药": ("中医药",),
    "中医药": ("生物医药",),
    "轻工": ("电动自行车", "新材料"),
}

TIER_NOTES = {
    0: "",
    1: "本专业专家不足，已补充相关领域专家",
    2: "本专业及相关领域专家不足，已补充其他领域专家",
}


class ResultToEvaluate(BaseModel):
    """A submitted result (成果) awaiting evaluation, with what recusal needs to know."""

    key: str
    chain: str = ""
    field: str = ""  # used to group when `chain` is empty
    title: str = ""
    applicant: str = ""  # 申报单位
    joint_units: list[str] = Field(default_factory=list)  # 联合申报单位
    recommending_unit: str = ""  # 推荐单位
    members: list[str] = Field(default_factory=list)  # 项目组成员 names

    @property
    def group(self) -> str:
        return self.chain.strip() or self.field.strip() or OTHER_CHAIN


class Panel(BaseModel):
    panel_id: str
    chain: str
    result_keys: list[str]
    members: list[str]  # expert keys
    reserves: list[str] = Field(default_factory=list)  # 备选专家, in call-up order
    declined: list[str] = Field(default_factory=list)
    match_tier: int = 0  # 0 same chain, 1 related chains, 2 any field
    match_note: str = ""
    shortfall_note: str = ""  # fewer reserves than asked


class Recusal(BaseModel):
    expert_key: str
    expert_name: str
    result_key: str
    reason: str


class Replacement(BaseModel):
    panel_id: str
    declined: str
    replacement: str | None
    note: str


class UnassignedResult(BaseModel):
    result_key: str
    chain: str
    reason: str


class PanelDraw(BaseModel):
    """The record of one draw: enough to show, audit and repeat it."""

    seed: int
    min_size: int
    reserves: int
    max_load: int | None
    max_results: int
    inputs_digest: str  # sha256 over result and expert keys: same digest + seed -> same draw
    panels: list[Panel] = Field(default_factory=list)
    recusals: list[Recusal] = Field(default_factory=list)
    unassigned: list[UnassignedResult] = Field(default_factory=list)
    replacements: list[Replacement] = Field(default_factory=list)
    load: dict[str, int] = Field(default_factory=dict)  # expert key -> member seats

    def panel(self, panel_id: str) -> Panel:
        for p in self.panels:
            if p.panel_id == panel_id:
                return p
        raise KeyError(f"没有评定组 {panel_id}")

    def panel_of(self, result_key: str) -> Panel | None:
        for p in self.panels:
            if result_key in p.result_keys:
                return p
        return None


class PanelDrawError(ValueError):
    pass


def normalise_unit(name: str) -> str:
    """Unit names compared loosely: full-width forms folded (（）→()), spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def _normalise_person(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


class _Expert:
    __slots__ = ("profile", "key", "units", "org", "declared", "name", "fields", "index")

    def __init__(self, profile: ExpertProfile, index: int) -> None:
        self.profile = profile
        self.key = profile.key
        self.index = index
        self.org = normalise_unit(profile.organisation) if profile.organisation.strip() else ""
        self.declared = {normalise_unit(u) for u in profile.recused_units if u.strip()}
        self.units = self.declared | ({self.org} if self.org else set())
        self.name = _normalise_person(profile.name)
        self.fields = {f.strip() for f in profile.fields}


class _Result:
    __slots__ = ("model", "key", "units", "members", "group")

    def __init__(self, model: ResultToEvaluate) -> None:
        self.model = model
        self.key = model.key
        units = [model.applicant, *model.joint_units, model.recommending_unit]
        self.units = {normalise_unit(u) for u in units if u.strip()}
        self.members = {_normalise_person(m) for m in model.members if m.strip()}
        self.group = model.group


def conflict_reasons(expert: ExpertProfile, result: ResultToEvaluate) -> list[str]:
    """Why `expert` must not score `result` (in Chinese); empty when there is no conflict."""
    e = _Expert(expert, 0)
    reasons: list[str] = []
    applicant = normalise_unit(result.applicant)
    joints = {normalise_unit(u): u for u in result.joint_units if u.strip()}
    recommending = normalise_unit(result.recommending_unit)
    if e.org:
        if result.applicant.strip() and e.org == applicant:
            reasons.append(f"本人所在单位为申报单位（{result.applicant}）")
        if e.org in joints:
            reasons.append(f"本人所在单位为联合申报单位（{joints[e.org]}）")
        if result.recommending_unit.strip() and e.org == recommending:
            reasons.append(f"本人所在单位为推荐单位（{result.recommending_unit}）")
    declared_hits = sorted(
        u for u in e.declared & ({applicant, recommending} | set(joints)) if u and u != e.org
    )
    for unit in declared_hits:
        reasons.append(f"本人声明回避单位（{unit}）")
    if e.name and e.name in {_normalise_person(m) for m in result.members}:
        reasons.append("本人为项目组成员")
    return reasons


def _digest(results: Sequence[ResultToEvaluate], experts: Sequence[ExpertProfile]) -> str:
    h = hashlib.sha256()
    for r in results:
        h.update(r.model_dump_json().encode())
    h.update(b"|")
    for e in experts:
        h.update(e.model_dump_json().encode())
    return h.hexdigest()


def _check_settings(min_size: int, reserves: int, max_load: int | None, max_results: int) -> None:
    if min_size < 3 or min_size % 2 == 0:
        raise PanelDrawError(f"评定组人数须为不少于 3 的奇数，当前为 {min_size}")
    if reserves < 0:
        raise PanelDrawError("备选专家人数不能为负数")
    if max_load is not None and max_load < 1:
        raise PanelDrawError("每位专家最多参加的评定组数须至少为 1")
    if max_results < 1:
        raise PanelDrawError("每个评定组评审成果数须至少为 1")


class _Drawer:
    """One draw in progress: the pool by tier for each group, each expert's seats, the random
    stream, and the record being filled."""

    def __init__(
        self,
        draw: PanelDraw,
        pool: list[_Expert],
        groups: Mapping[str, list[_Result]],
        related: Mapping[str, set[str]],
    ) -> None:
        self.draw = draw
        self.rng = random.Random(draw.seed)
        self.load: dict[str, int] = {e.key: 0 for e in pool}
        self.counter = 0
        self.tiers_by_group = {g: self._tiers(pool, g, related.get(g, set())) for g in groups}

    @staticmethod
    def _tiers(pool: list[_Expert], group: str, near: set[str]) -> list[list[_Expert]]:
        """Experts of the same chain, of related chains, and the rest."""
        same = [e for e in pool if group in e.fields]
        rel = [e for e in pool if group not in e.fields and e.fields & near]
        rest = [e for e in pool if group not in e.fields and not (e.fields & near)]
        return [same, rel, rest]

    def free(self, e: _Expert) -> bool:
        return self.draw.max_load is None or self.load[e.key] < self.draw.max_load

    def _eligible(self, chunk: list[_Result], group: str) -> list[tuple[int, _Expert]] | None:
        """The (tier, expert) candidates for a panel over `chunk`, or None when the chunk
        should be split (too few conflict-free experts, or a better tier after a split)."""
        tiers = self.tiers_by_group[group]
        min_size = self.draw.min_size
        units: set[str] = set().union(*(r.units for r in chunk))
        names: set[str] = set().union(*(r.members for r in chunk))

        def clean(e: _Expert) -> bool:
            return self.free(e) and not (e.units & units) and e.name not in names

        eligible: list[tuple[int, _Expert]] = []
        for tier, experts_in_tier in enumerate(tiers):
            eligible.extend((tier, e) for e in experts_in_tier if clean(e))
            if len(eligible) >= min_size:
                # Would splitting keep this panel in a better tier? Conflicts, not a lack of
                # specialists, are what push us down when enough free experts exist up there.
                if tier > 0 and len(chunk) > 1:
                    better = sum(1 for t in tiers[:tier] for e in t if self.free(e))
                    if better >= min_size:
                        return None
                # Reserves may come from wider tiers than the members.
                for wider, rest in enumerate(tiers[tier + 1 :], start=tier + 1):
                    eligible.extend((wider, e) for e in rest if clean(e))
                return eligible
        return None

    def solve(self, chunk: list[_Result], group: str) -> None:
        """A panel for `chunk`, else its halves' panels, else the result is unassigned."""
        eligible = self._eligible(chunk, group)
        if eligible is not None:
            self._make_panel(chunk, group, eligible)
            return
        if len(chunk) > 1:
            half = (len(chunk) + 1) // 2
            self.solve(chunk[:half], group)
            self.solve(chunk[half:], group)
            return
        min_size = self.draw.min_size
        available = sum(1 for t in self.tiers_by_group[group] for e in t if self.free(e))
        why = (
            f"无回避冲突且可用的专家不足 {min_size} 人"
            if available >= min_size
            else f"可用专家不足 {min_size} 人（已达参评上限或专家库人数不足）"
        )
        self.draw.unassigned.append(
            UnassignedResult(result_key=chunk[0].key, chain=group, reason=why)
        )

    def _make_panel(
        self, chunk: list[_Result], group: str, eligible: list[tuple[int, _Expert]]
    ) -> None:
        min_size, reserves = self.draw.min_size, self.draw.reserves
        ranked = sorted(eligible, key=lambda te: (te[0], self.load[te[1].key], self.rng.random()))
        chosen = [e for _, e in ranked[: min_size + reserves]]
        members, spare = chosen[:min_size], chosen[min_size:]
        tier = max(t for t, _ in ranked[:min_size])
        for e in members:
            self.load[e.key] += 1
        self.counter += 1
        shortfall = ""
        if len(spare) < reserves:
            shortfall = f"备选专家仅 {len(spare)} 人，少于要求的 {reserves} 人"
        self.draw.panels.append(
            Panel(
                panel_id=f"P{self.counter:03d}",
                chain=group,
                result_keys=[r.key for r in chunk],
                members=[e.key for e in members],
                reserves=[e.key for e in spare],
                match_tier=tier,
                match_note=TIER_NOTES[tier],
                shortfall_note=shortfall,
            )
        )


def draw_panels(
    results: Sequence[ResultToEvaluate],
    experts: Sequence[ExpertProfile],
    *,
    seed: int,
    min_size: int = 5,
    reserves: int = 2,
    max_load: int | None = None,
    max_results: int = 30,
    related: Mapping[str, Iterable[str]] | None = None,
) -> PanelDraw:
    """Form panels for `results` from `experts`; see the module docstring for the rules.

    `min_size` must be odd (so a panel can vote) and at least 3; `max_results` caps the results
    one panel scores; `related` overrides `RELATED_CHAINS`. Raises `PanelDrawError` on bad
    settings or duplicate keys; results for which no conflict-free panel can be formed are listed
    in `unassigned` rather than raising.
    """
    _check_settings(min_size, reserves, max_load, max_results)
    _check_unique([r.key for r in results], "成果")
    _check_unique([e.key for e in experts], "专家")

    related_map = {k: set(v) for k, v in (RELATED_CHAINS if related is None else related).items()}
    pool = [_Expert(p, i) for i, p in enumerate(experts)]
    rs = [_Result(r) for r in results]
    draw = PanelDraw(
        seed=seed,
        min_size=min_size,
        reserves=reserves,
        max_load=max_load,
        max_results=max_results,
        inputs_digest=_digest(results, experts),
    )
    draw.recusals = _all_recusals(pool, rs)
    groups: dict[str, list[_Result]] = defaultdict(list)
    for r in rs:
        groups[r.group].append(r)
    drawer = _Drawer(draw, pool, groups, related_map)
    # Scarcest specialty first, so it is not used up by larger chains.
    order = sorted(groups, key=lambda g: (len(drawer.tiers_by_group[g][0]), g))
    for group in order:
        items = sorted(
            groups[group], key=lambda r: (normalise_unit(r.model.recommending_unit), r.key)
        )
        n_chunks = -(-len(items) // max_results)
        size = -(-len(items) // n_chunks)  # even chunks
        for start in range(0, len(items), size):
            drawer.solve(items[start : start + size], group)

    draw.load = {k: v for k, v in drawer.load.items() if v}
    return draw


def _check_unique(keys: list[str], what: str) -> None:
    dupes = sorted(k for k, n in Counter(keys).items() if n > 1)
    if dupes:
        raise PanelDrawError(f"{what}编号重复：{'、'.join(dupes)}")


def _all_recusals(pool: list[_Expert], rs: list[_Result]) -> list[Recusal]:
    """Every (expert, result) conflict, via indexes on units and names (not all pairs)."""
    by_unit: dict[str, list[_Expert]] = defaultdict(list)
    by_name: dict[str, list[_Expert]] = defaultdict(list)
    for e in pool:
        for u in e.units:
            by_unit[u].append(e)
        if e.name:
            by_name[e.name].append(e)
    out: list[Recusal] = []
    for r in rs:
        hit: dict[str, _Expert] = {}
        for u in r.units:
            for e in by_unit.get(u, ()):
                hit[e.key] = e
        for m in r.members:
            for e in by_name.get(m, ()):
                hit[e.key] = e
        for e in sorted(hit.values(), key=lambda x: x.index):
            reasons = conflict_reasons(e.profile, r.model)
            out.append(
                Recusal(
                    expert_key=e.key,
                    expert_name=e.profile.name,
                    result_key=r.key,
                    reason="；".join(reasons),
                )
            )
    return out


def replace_decliner(
    draw: PanelDraw, panel_id: str, expert_key: str
) -> tuple[PanelDraw, str | None]:
    """An expert declines a panel seat: call up the first reserve without a conflict.

    Returns a new draw (the input is not changed) and the replacement's key, or None when no
    reserve is usable (the panel then needs a supplementary draw). Conflicts are checked against
    the draw's recusal list, and `max_load` is respected. A reserve who declines is simply taken
    off the reserve list. Every call is recorded in `replacements`.
    """
    new = draw.model_copy(deep=True)
    panel = new.panel(panel_id)
    if expert_key in panel.reserves:
        panel.reserves.remove(expert_key)
        panel.declined.append(expert_key)
        new.replacements.append(
            Replacement(
                panel_id=panel_id,
                declined=expert_key,
                replacement=None,
                note=f"备选专家 {expert_key} 谢绝，已从备选名单移除",
            )
        )
        return new, None
    if expert_key not in panel.members:
        raise KeyError(f"专家 {expert_key} 不在评定组 {panel_id} 中")
    conflicted = {rc.expert_key for rc in new.recusals if rc.result_key in set(panel.result_keys)}
    replacement: str | None = None
    skipped: list[str] = []
    for candidate in panel.reserves:
        over = new.max_load is not None and new.load.get(candidate, 0) >= new.max_load
        if candidate in conflicted or over or candidate in panel.members:
            skipped.append(candidate)
            continue
        replacement = candidate
        break
    index = panel.members.index(expert_key)
    panel.declined.append(expert_key)
    new.load[expert_key] = new.load.get(expert_key, 1) - 1
    if new.load[expert_key] <= 0:
        del new.load[expert_key]
    if replacement is None:
        panel.members.pop(index)
        note = f"专家 {expert_key} 谢绝，无可用备选专家，需补充抽取"
    else:
        panel.members[index] = replacement
        panel.reserves.remove(replacement)
        new.load[replacement] = new.load.get(replacement, 0) + 1
        note = f"专家 {expert_key} 谢绝，由备选专家 {replacement} 递补"
        if skipped:
            note += f"（跳过有回避情形或已达上限的备选专家 {'、'.join(skipped)}）"
    new.replacements.append(
        Replacement(panel_id=panel_id, declined=expert_key, replacement=replacement, note=note)
    )
    return new, replacement
