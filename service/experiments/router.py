"""Experiment endpoints: create, list, read, edit, stop, assign a unit, and the results."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from service.auth import TenantDep
from service.db import SessionDep
from service.experiments import service
from service.experiments.lifecycle import stop_experiment, update_experiment
from service.experiments.results import experiment_results, results_csv
from service.experiments.schemas import (
    AssignmentOut,
    ExperimentIn,
    ExperimentOut,
    ExperimentPatch,
    ResultsOut,
    StopIn,
)

router = APIRouter(tags=["experiments"])


@router.post("/v1/experiments", status_code=201, response_model=ExperimentOut, responses={409: {}})
def create_experiment(body: ExperimentIn, tenant: TenantDep, session: SessionDep) -> ExperimentOut:
    """Create an experiment: variants (one control) with their scripts, metrics, the unit."""
    loaded = service.create_experiment(session, tenant_id=tenant.id, body=body)
    return service.experiment_out(loaded)


@router.get("/v1/experiments", response_model=list[ExperimentOut])
def list_experiments(tenant: TenantDep, session: SessionDep) -> list[ExperimentOut]:
    """The tenant's experiments, newest first."""
    return [
        service.experiment_out(e) for e in service.list_experiments(session, tenant_id=tenant.id)
    ]


@router.get("/v1/experiments/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: str, tenant: TenantDep, session: SessionDep) -> ExperimentOut:
    """One experiment."""
    loaded = service.get_experiment(session, tenant_id=tenant.id, experiment_id=experiment_id)
    return service.experiment_out(loaded)


@router.patch(
    "/v1/experiments/{experiment_id}", response_model=ExperimentOut, responses={409: {}, 422: {}}
)
def patch_experiment(
    experiment_id: str, body: ExperimentPatch, tenant: TenantDep, session: SessionDep
) -> ExperimentOut:
    """Rename or restate the hypothesis; unit, metrics and variants only before any data."""
    loaded = service.get_experiment(session, tenant_id=tenant.id, experiment_id=experiment_id)
    return service.experiment_out(update_experiment(session, loaded=loaded, body=body))


@router.post(
    "/v1/experiments/{experiment_id}/stop", response_model=ExperimentOut, responses={409: {}}
)
def stop(
    experiment_id: str, tenant: TenantDep, session: SessionDep, body: StopIn | None = None
) -> ExperimentOut:
    """Stop the experiment now: results count calls before the stop; assignment gives control."""
    loaded = service.get_experiment(session, tenant_id=tenant.id, experiment_id=experiment_id)
    reason = body.reason if body is not None else ""
    return service.experiment_out(stop_experiment(session, loaded=loaded, reason=reason))


@router.get("/v1/experiments/{experiment_id}/assignment", response_model=AssignmentOut)
def assignment(
    experiment_id: str,
    tenant: TenantDep,
    session: SessionDep,
    unit: Annotated[str, Query(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f]+$")],
) -> AssignmentOut:
    """The stable variant of a unit (rep, deal or conversation id); logs the first exposure."""
    loaded = service.get_experiment(session, tenant_id=tenant.id, experiment_id=experiment_id)
    return service.assign(session, loaded=loaded, unit_id=unit)


@router.get(
    "/v1/experiments/{experiment_id}/results",
    response_model=ResultsOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def results(
    experiment_id: str,
    tenant: TenantDep,
    session: SessionDep,
    format: Literal["json", "csv"] = "json",
) -> ResultsOut | Response:
    """Variants side by side on every metric, with intervals, verdicts and the SRM check."""
    loaded = service.get_experiment(session, tenant_id=tenant.id, experiment_id=experiment_id)
    out = experiment_results(session, loaded=loaded)
    if format == "csv":
        name = f"experiment-{loaded.experiment.key}-results.csv"
        return Response(
            results_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return out
