"""发文字号: each notice of the campaign gets the next number of the year once; a rerun that
writes the notice again reuses it."""

from __future__ import annotations

from documents.official import Issuing
from services.context import CampaignContext
from storage.uow import UnitOfWork


def doc_number(uow: UnitOfWork, ctx: CampaignContext, kind: str) -> str:
    """The 发文字号 of the campaign's notice of this kind (inside an open unit of work), given
    now when it has none: the next of the year, from ``[documents] doc_number_start``."""
    existing = uow.notices.number(ctx.campaign_id, kind)
    if existing is not None:
        return existing.number
    settings = ctx.config.documents
    last = uow.notices.last_seq(ctx.campaign_id)
    seq = settings.doc_number_start if last is None else max(last + 1, settings.doc_number_start)
    return uow.notices.assign(ctx.campaign_id, kind, seq, settings.doc_number(ctx.year, seq)).number


def issuing(ctx: CampaignContext, number: str = "") -> Issuing:
    """Who issues the campaign's notices, with this 发文字号, per ``[documents]``."""
    settings = ctx.config.documents
    return Issuing(
        issuer=ctx.config.issuer,
        doc_number=number,
        printer=settings.printer,
        copy_to=tuple(settings.copy_to),
    )
