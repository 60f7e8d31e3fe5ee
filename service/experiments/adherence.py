"""Script adherence in the analyze step: find the call's variant, score it, store the evidence."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import (
    Conversation,
    ConversationAdherence,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
)
from nlp.adherence import VERSION, Adherence, ScriptAdherence
from nlp.encoder import SentenceEncoder
from nlp.types import Sentence


@dataclass(frozen=True, slots=True)
class AdherencePlan:
    """Which experiment and variant a conversation belongs to, and that variant's key lines."""

    experiment_id: uuid.UUID
    variant_key: str
    lines: tuple[str, ...]


def unit_id_of(conversation: Conversation, unit: str) -> str | None:
    """The id of the conversation's randomisation unit (its rep, its deal, or itself)."""
    if unit == "rep":
        return conversation.rep_external_id
    if unit == "deal":
        return conversation.deal_external_id
    return conversation.external_id


def adherence_plan(session: Session, *, conversation: Conversation) -> AdherencePlan | None:
    """The conversation's variant: the CRM's playbook field first, else a logged exposure."""
    if conversation.kind != "call":
        return None
    if conversation.playbook_experiment and conversation.playbook_variant:
        exp = session.execute(
            select(Experiment).where(
                Experiment.tenant_id == conversation.tenant_id,
                Experiment.key == conversation.playbook_experiment,
            )
        ).scalar_one_or_none()
        if exp is not None:
            return _plan(session, exp.id, conversation.playbook_variant)
    units = [
        u
        for u in (
            conversation.rep_external_id,
            conversation.deal_external_id,
            conversation.external_id,
        )
        if u
    ]
    if not units:
        return None
    rows = session.execute(
        select(Experiment, ExperimentExposure.variant_key, ExperimentExposure.unit_id)
        .join(ExperimentExposure, ExperimentExposure.experiment_id == Experiment.id)
        .where(
            Experiment.tenant_id == conversation.tenant_id,
            Experiment.stopped_at.is_(None),
            ExperimentExposure.unit_id.in_(units),
            Experiment.started_at <= conversation.occurred_at,
        )
        .order_by(Experiment.created_at.desc())
    ).all()
    for exp, variant_key, unit_id in rows:
        # The exposure counts only for the unit this experiment randomises by.
        if unit_id_of(conversation, exp.unit) == unit_id:
            return _plan(session, exp.id, variant_key)
    return None


def _plan(session: Session, experiment_id: uuid.UUID, variant_key: str) -> AdherencePlan | None:
    variant = session.execute(
        select(ExperimentVariant).where(
            ExperimentVariant.experiment_id == experiment_id, ExperimentVariant.key == variant_key
        )
    ).scalar_one_or_none()
    if variant is None:
        return None  # a variant the experiment does not have: nothing to score against
    return AdherencePlan(experiment_id, variant.key, tuple(variant.script))


def score_adherence(
    plan: AdherencePlan | None, sentences: list[Sentence], encoder: SentenceEncoder
) -> Adherence | None:
    """Score the rep's sentences against the plan's key lines (no database work)."""
    if plan is None:
        return None
    return ScriptAdherence(encoder).score(plan.lines, sentences)


def store_adherence(
    session: Session,
    *,
    conversation: Conversation,
    plan: AdherencePlan | None,
    result: Adherence | None,
) -> None:
    """Replace the conversation's stored adherence with this result."""
    session.execute(
        delete(ConversationAdherence).where(
            ConversationAdherence.conversation_id == conversation.id
        )
    )
    if plan is None or result is None:
        return
    session.add(
        ConversationAdherence(
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            experiment_id=plan.experiment_id,
            variant_key=plan.variant_key,
            lines_total=len(result.lines),
            lines_said=result.said,
            share=result.share,
            said_mask="".join("1" if m.said else "0" for m in result.lines),
            evidence=[
                {
                    "line": m.line,
                    "said": m.said,
                    "score": m.score,
                    "quote": m.quote,
                    "utterance": m.utterance,
                    "start": m.start,
                    "end": m.end,
                }
                for m in result.lines
            ],
            analyzer_version=VERSION,
        )
    )
