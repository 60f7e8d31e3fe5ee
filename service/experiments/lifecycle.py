"""Editing and stopping experiments: the pre-registered design is frozen once data exists."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from models import (
    Conversation,
    ConversationAdherence,
    Deal,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
)
from models.base import utcnow
from service.errors import Conflict, ServiceError
from service.experiments.schemas import (
    DESIGN_FIELDS,
    ExperimentIn,
    ExperimentPatch,
)
from service.experiments.service import Loaded, variant_rows


def has_data(session: Session, *, loaded: Loaded) -> bool:
    """Whether any exposure, call, deal or adherence row belongs to the experiment."""
    exp = loaded.experiment
    found = select(
        or_(
            exists().where(ExperimentExposure.experiment_id == exp.id),
            exists().where(ConversationAdherence.experiment_id == exp.id),
            exists().where(
                Conversation.tenant_id == exp.tenant_id,
                Conversation.playbook_experiment == exp.key,
            ),
            exists().where(Deal.tenant_id == exp.tenant_id, Deal.playbook_experiment == exp.key),
        )
    )
    return bool(session.execute(found).scalar())


def _merged(loaded: Loaded, body: ExperimentPatch) -> ExperimentIn:
    """The experiment as it would be after the patch, checked by the creation rules."""
    e = loaded.experiment
    current: dict[str, Any] = {
        "key": e.key,
        "name": e.name,
        "hypothesis": e.hypothesis,
        "unit": e.unit,
        "primary_metric": e.primary_metric,
        "secondary_metrics": list(e.secondary_metrics),
        "variants": [
            {"key": v.key, "name": v.name, "control": v.is_control, "weight": v.weight}
            | {"script": list(v.script)}
            for v in loaded.variants
        ],
        "planned_units_per_variant": e.planned_units_per_variant,
        "minimum_effect": e.minimum_effect,
        "stage_window_days": e.stage_window_days,
        "adherence_min_share": e.adherence_min_share,
        "started_at": e.started_at,
    }
    current.update(body.model_dump(include=body.model_fields_set))
    try:
        return ExperimentIn.model_validate(current)
    except ValidationError as exc:
        problems = "; ".join(str(err["msg"]) for err in exc.errors())
        raise ServiceError(
            f"the edited experiment is invalid: {problems}",
            code="invalid_experiment",
            status_code=422,
        ) from None


def _stored_design(loaded: Loaded) -> dict[str, object]:
    """The design fields as stored, in a comparable shape."""
    e = loaded.experiment
    return {
        "unit": e.unit,
        "primary_metric": e.primary_metric,
        "secondary_metrics": list(e.secondary_metrics),
        "variants": [
            (v.key, v.name, v.is_control, v.weight, list(v.script)) for v in loaded.variants
        ],
    }


def _new_design(new: ExperimentIn) -> dict[str, object]:
    """The design fields after the patch, in the same shape."""
    return {
        "unit": new.unit,
        "primary_metric": new.primary_metric,
        "secondary_metrics": list(new.secondary_metrics),
        "variants": [
            (v.key, v.name or v.key, v.control, v.weight, list(v.script)) for v in new.variants
        ],
    }


def update_experiment(session: Session, *, loaded: Loaded, body: ExperimentPatch) -> Loaded:
    """Apply the patch; the design fields only while no exposure or call exists."""
    new = _merged(loaded, body)
    # Sending the current values back (a client echoing the whole object) changes nothing.
    before, after = _stored_design(loaded), _new_design(new)
    design = [f for f in DESIGN_FIELDS if f in body.model_fields_set and before[f] != after[f]]
    if design and has_data(session, loaded=loaded):
        raise Conflict(
            f"{', '.join(design)} cannot change once the experiment has exposures or calls: "
            "the design was registered before the data came in (create a new experiment)",
            code="experiment_started",
        )
    exp = loaded.experiment
    exp.name = new.name
    exp.hypothesis = new.hypothesis
    exp.unit = new.unit
    exp.primary_metric = new.primary_metric
    exp.secondary_metrics = list(new.secondary_metrics)
    exp.updated_at = utcnow()
    variants = loaded.variants
    if "variants" in design:
        session.execute(delete(ExperimentVariant).where(ExperimentVariant.experiment_id == exp.id))
        variants = variant_rows(exp.id, new.variants)
        session.add_all(variants)
    session.flush()
    return Loaded(exp, variants)


def stop_experiment(session: Session, *, loaded: Loaded, reason: str) -> Loaded:
    """Record the stop once: results count calls before it, assignment logs no more exposures."""
    exp = loaded.experiment
    now = utcnow()
    # Conditional on not being stopped yet, so two concurrent stops cannot both succeed.
    done = session.execute(
        update(Experiment)
        .where(Experiment.id == exp.id, Experiment.stopped_at.is_(None))
        .values(stopped_at=now, stop_reason=reason.strip() or None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the experiment is already stopped", code="experiment_stopped")
    session.refresh(exp)
    return loaded
