"""Reads of leads for a person: what they may see (their own and, by their grant's scope,
their team's or department's — `Lead.objects.restrict`) plus the leads waiting in the pools
they may claim from (a rep's grant is "own", so the pool is read here, by the pool's team).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from rapport.core.errors import NotFound
from rapport.identity import policy
from rapport.identity.models import Action, User

from .models.leads import OPEN_LEAD_STATUSES, Lead, LeadPool

LEAD = Lead.security_type


def claimable_pools(user: User) -> QuerySet:
    """Active pools `user` may claim from: their teams' pools and pools without a team (for
    people who work on leads)."""
    if not policy._is_usable(user) or not policy.has_grant(user, LEAD, Action.CHANGE):
        return LeadPool.objects.none()
    return LeadPool.objects.filter(
        Q(team__isnull=True) | Q(team__in=policy._team_ids(user)), is_active=True
    )


def _pool_q(user: User) -> Q | None:
    if not policy.has_grant(user, LEAD, Action.CHANGE):
        return None
    return Q(owner__isnull=True, pool__in=claimable_pools(user).values("pk"))


def leads_visible(user: User) -> QuerySet:
    """Every lead `user` may read: by their grants (own, team, department, all) and the
    leads in the pools they may claim from."""
    condition = policy.restriction_q(user, Lead, Action.VIEW)
    pool = _pool_q(user)
    if condition is None and pool is None:
        return Lead.objects.none()
    if condition is None:
        return Lead.objects.filter(pool)
    if pool is None or not condition:
        return Lead.objects.filter(condition)
    return Lead.objects.filter(condition | pool)


def pool_leads(user: User, pool: LeadPool | None = None) -> QuerySet:
    """Open leads waiting in the pools `user` may claim from (or in `pool`)."""
    pools = claimable_pools(user)
    if pool is not None:
        pools = pools.filter(pk=pool.pk)
    return Lead.objects.filter(
        owner__isnull=True, status__in=OPEN_LEAD_STATUSES, pool__in=pools.values("pk")
    )


def lead_for(user: User, pk, *, related: bool = True) -> Lead:
    """Fetch-and-authorize a lead to read: not found when `user` may not see it."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    leads = leads_visible(user)
    if related:
        leads = leads.select_related(
            "owner",
            "pool",
            "team",
            "created_by",
            "converted_account",
            "converted_contact",
            "converted_opportunity",
        )
    lead = leads.filter(pk=pk).first()
    if lead is None:
        raise NotFound()
    return lead


@dataclass
class Holding:
    pool: LeadPool
    held: int
    limit: int | None
    claimed_today: int
    per_day: int | None

    @property
    def full(self) -> bool:
        return (self.limit is not None and self.held >= self.limit) or (
            self.per_day is not None and self.claimed_today >= self.per_day
        )


def holdings(user: User) -> list[Holding]:
    """For each pool `user` may claim from: how many open leads they hold from it, the
    limit, and today's claims against the daily limit (two queries)."""
    from django.db.models import Count

    from .services.leads import claims_today

    pools = list(claimable_pools(user).select_related("team"))
    counts = dict(
        Lead.objects.filter(owner=user, status__in=OPEN_LEAD_STATUSES, pool__in=pools)
        .values("pool")
        .annotate(n=Count("id"))
        .values_list("pool", "n")
    )
    today = claims_today(user) if any(pool.claims_per_day for pool in pools) else 0
    return [
        Holding(pool, counts.get(pool.pk, 0), pool.max_held, today, pool.claims_per_day)
        for pool in pools
    ]
