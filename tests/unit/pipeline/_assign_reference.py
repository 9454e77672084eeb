"""The assignment rules served one entity at a time: the reference ``assign`` must equal."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmcore.pipeline import LeastLoaded, RoundRobin, SkillsMatch, Territory


def _eligible(strategy: Any, row: pd.Series, team: Any) -> tuple[list[int], str]:
    """Team positions that may take ``row``, and the balancer's name."""
    if isinstance(strategy, RoundRobin | LeastLoaded):
        ok = [i for i, m in enumerate(team.members) if m.active]
        return ok, "round_robin" if isinstance(strategy, RoundRobin) else "least_loaded"
    inner, balancer = _eligible(strategy.then, row, team)
    if isinstance(strategy, SkillsMatch):
        need = row[strategy.skills_col]
        if isinstance(need, str):
            need = {need}
        else:
            need = set() if need is None or pd.isna(need) else set(need)
        return [i for i in inner if need <= team.members[i].skills], balancer
    assert isinstance(strategy, Territory)
    where = row[strategy.territory_col]
    known = isinstance(where, str)
    return [i for i in inner if known and where in team.members[i].territories], balancer


def reference_assign(frame: pd.DataFrame, rules: list[Any], loads: dict[str, int], last: dict):
    """Owners (or None), reasons, loads and last-served agents, one entity at a time."""
    loads, last = dict(loads), dict(last)
    owners: list[str | None] = []
    reasons: list[str | None] = []
    hits = [None if r.when is None else r.when.mask(frame) for r in rules]
    for pos, (_, row) in enumerate(frame.iterrows()):
        rule = next((r for r, h in zip(rules, hits, strict=True) if h is None or h[pos]), None)
        if rule is None:
            owners.append(None)
            reasons.append("no_rule")
            continue
        if rule.team is None:
            owners.append(None)
            reasons.append(None)
            continue
        team = rule.team
        ok, balancer = _eligible(rule.strategy, row, team)
        if not ok:
            owners.append(None)
            reasons.append("no_eligible_member")
            continue

        def room(i: int, team: Any = team) -> bool:
            m = team.members[i]
            return m.capacity is None or loads.get(m.id, 0) < m.capacity

        pick = None
        if balancer == "least_loaded":
            free = [i for i in ok if room(i)]
            if free:
                pick = min(free, key=lambda i: loads.get(team.members[i].id, 0))
        else:
            ids = [m.id for m in team.members]
            c = ids.index(last[team.name]) if last.get(team.name) in ids else -1
            for step in range(1, len(ids) + 1):
                i = (c + step) % len(ids)
                if i in ok and room(i):
                    pick = i
                    last[team.name] = ids[i]
                    break
        if pick is None:
            owners.append(None)
            reasons.append("at_capacity")
            continue
        agent = team.members[pick].id
        loads[agent] = loads.get(agent, 0) + 1
        owners.append(agent)
        reasons.append(None)
    return owners, reasons, loads, last
