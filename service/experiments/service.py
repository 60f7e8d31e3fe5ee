"""Experiments: creation, lookup, and hashed assignment with logged exposures; never commits."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Experiment, ExperimentExposure, ExperimentVariant
from models.base import utcnow
from service.dbutil import insert_or_ignore, tenant_row
from service.errors import Conflict
from service.experiments.schemas import (
    AssignmentOut,
    ExperimentIn,
    ExperimentOut,
    VariantIn,
    VariantOut,
)


@dataclass(frozen=True, slots=True)
class Loaded:
    """An experiment with its variants in their configured order."""

    experiment: Experiment
    variants: list[ExperimentVariant]

    @property
    def control(self) -> ExperimentVariant:
        """The control arm (validated to be exactly one at creation)."""
        return next(v for v in self.variants if v.is_control)

    def variant(self, key: str) -> ExperimentVariant | None:
        """The arm with this key, if any."""
        return next((v for v in self.variants if v.key == key), None)


def create_experiment(session: Session, *, tenant_id: uuid.UUID, body: ExperimentIn) -> Loaded:
    """Store a new experiment; its key must be new for the tenant."""
    exists = session.execute(
        select(Experiment.id).where(Experiment.tenant_id == tenant_id, Experiment.key == body.key)
    ).first()
    if exists is not None:
        raise Conflict(f"an experiment with key {body.key!r} exists", code="experiment_exists")
    now = utcnow()
    exp = Experiment(
        tenant_id=tenant_id,
        key=body.key,
        name=body.name,
        hypothesis=body.hypothesis,
        unit=body.unit,
        primary_metric=body.primary_metric,
        secondary_metrics=list(body.secondary_metrics),
        salt=secrets.token_hex(16),
        planned_units_per_variant=body.planned_units_per_variant,
        minimum_effect=body.minimum_effect,
        stage_window_days=body.stage_window_days,
        adherence_min_share=body.adherence_min_share,
        started_at=body.started_at or now,
        created_at=now,
    )
    session.add(exp)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create with the same key
        raise Conflict(
            f"an experiment with key {body.key!r} exists", code="experiment_exists"
        ) from exc
    variants = variant_rows(exp.id, body.variants)
    session.add_all(variants)
    session.flush()
    return Loaded(exp, variants)


def variant_rows(
    experiment_id: uuid.UUID, variants: Sequence[VariantIn]
) -> list[ExperimentVariant]:
    """The variant rows of an experiment design, in the order given."""
    return [
        ExperimentVariant(
            experiment_id=experiment_id,
            key=v.key,
            name=v.name or v.key,
            is_control=v.control,
            weight=v.weight,
            position=i,
            script=list(v.script),
        )
        for i, v in enumerate(variants)
    ]


def _variants(session: Session, experiment_id: uuid.UUID) -> list[ExperimentVariant]:
    return list(
        session.execute(
            select(ExperimentVariant)
            .where(ExperimentVariant.experiment_id == experiment_id)
            .order_by(ExperimentVariant.position)
        ).scalars()
    )


def get_experiment(session: Session, *, tenant_id: uuid.UUID, experiment_id: str) -> Loaded:
    """The tenant's experiment; malformed and other tenants' ids are 404 alike."""
    exp = tenant_row(
        session, Experiment, tenant_id=tenant_id, row_id=experiment_id, what="experiment"
    )
    return Loaded(exp, _variants(session, exp.id))


def list_experiments(session: Session, *, tenant_id: uuid.UUID) -> list[Loaded]:
    """The tenant's experiments, newest first."""
    rows = session.execute(
        select(Experiment)
        .where(Experiment.tenant_id == tenant_id)
        .order_by(Experiment.created_at.desc(), Experiment.id)
    ).scalars()
    return [Loaded(e, _variants(session, e.id)) for e in rows]


def experiment_out(loaded: Loaded) -> ExperimentOut:
    """The API shape of an experiment."""
    e = loaded.experiment
    return ExperimentOut(
        id=e.id,
        key=e.key,
        name=e.name,
        hypothesis=e.hypothesis,
        unit=e.unit,  # type: ignore[arg-type]
        primary_metric=e.primary_metric,
        secondary_metrics=list(e.secondary_metrics),
        variants=[
            VariantOut(
                key=v.key, name=v.name, control=v.is_control, weight=v.weight, script=v.script
            )
            for v in loaded.variants
        ],
        planned_units_per_variant=e.planned_units_per_variant,
        minimum_effect=e.minimum_effect,
        stage_window_days=e.stage_window_days,
        adherence_min_share=e.adherence_min_share,
        started_at=e.started_at,
        stopped_at=e.stopped_at,
        stop_reason=e.stop_reason,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def hashed_variant(loaded: Loaded, unit_id: str) -> ExperimentVariant:
    """The variant a unit falls into: a salted SHA-256 of its id, cut by the weights."""
    digest = hashlib.sha256(f"{loaded.experiment.salt}\x00{unit_id}".encode()).digest()
    # 64 bits of the hash as a uniform number in [0, 1).
    u = int.from_bytes(digest[:8], "big") / 2**64
    total = sum(v.weight for v in loaded.variants)
    edge = 0.0
    for v in loaded.variants:
        edge += v.weight / total
        if u < edge:
            return v
    return loaded.variants[-1]


def assign(session: Session, *, loaded: Loaded, unit_id: str) -> AssignmentOut:
    """The unit's variant; the first call logs the exposure, later calls return the same one."""
    exp = loaded.experiment
    if exp.stopped_at is not None:
        # Over: everyone gets the control's script, and nothing more is logged as an exposure.
        control = loaded.control
        return AssignmentOut(
            experiment_id=exp.id,
            unit=exp.unit,  # type: ignore[arg-type]
            unit_id=unit_id,
            variant=control.key,
            control=True,
            script=list(control.script),
            source="service",
            new=False,
            stopped=True,
        )
    chosen = hashed_variant(loaded, unit_id)
    inserted = insert_or_ignore(
        session,
        ExperimentExposure,
        {
            "experiment_id": exp.id,
            "unit_id": unit_id,
            "variant_key": chosen.key,
            "source": "service",
            "exposed_at": utcnow(),
        },
        conflict=["experiment_id", "unit_id"],
    )
    source = "service"
    if inserted is None:
        # Already exposed (maybe reported by the CRM first): the recorded variant stands.
        row = session.execute(
            select(ExperimentExposure).where(
                ExperimentExposure.experiment_id == exp.id, ExperimentExposure.unit_id == unit_id
            )
        ).scalar_one()
        recorded = loaded.variant(row.variant_key)
        if recorded is not None:
            chosen = recorded
        source = row.source
    return AssignmentOut(
        experiment_id=exp.id,
        unit=exp.unit,  # type: ignore[arg-type]
        unit_id=unit_id,
        variant=chosen.key,
        control=chosen.is_control,
        script=list(chosen.script),
        source=source,  # type: ignore[arg-type]
        new=inserted is not None,
    )
