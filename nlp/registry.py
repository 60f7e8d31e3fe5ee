"""Builds the analysis pipeline from configuration; components are registered here, explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nlp.components.competitor_context import FILE_NAME as CONTEXT_FILE
from nlp.components.competitor_context import ContextModel
from nlp.components.competitors import CompetitorComponent
from nlp.components.next_steps import NextStepComponent
from nlp.components.objections import ObjectionComponent
from nlp.components.organisations import OrganisationComponent
from nlp.components.segmenter import Segmenter
from nlp.components.trackers import TrackerComponent
from nlp.encoder import EncoderConfig, SentenceEncoder
from nlp.objections.model import ObjectionModel
from nlp.pipeline import Pipeline
from nlp.types import AnalysisDoc, TenantNlpConfig, Utterance


def default_model_root() -> Path:
    """Where trained models live unless configured: the user's cache directory."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dealsight" / "models"


@dataclass(frozen=True, slots=True)
class NlpConfig:
    """Which trained objection model and which sentence encoder to use."""

    objection_model: Path
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    threads: int = 1


def build_pipeline(config: NlpConfig) -> Pipeline:
    """Segmenter, competitors, other organisations, objections, tenant trackers, next steps."""
    encoder = SentenceEncoder(config.encoder)
    context = None
    if (config.objection_model / CONTEXT_FILE).is_file():
        context = ContextModel(config.objection_model, encoder)
    return Pipeline(
        [
            Segmenter(),
            CompetitorComponent(context_model=context),
            OrganisationComponent(),
            ObjectionComponent(ObjectionModel(config.objection_model, threads=config.threads)),
            TrackerComponent(encoder),
            NextStepComponent(),
        ]
    )


def encoder_of(pipeline: Pipeline) -> SentenceEncoder:
    """The pipeline's shared sentence encoder (trackers are trained with the same one)."""
    comp = pipeline.get("trackers")
    assert isinstance(comp, TrackerComponent)
    return comp.encoder


def analyze(
    pipeline: Pipeline,
    utterances: list[Utterance],
    *,
    tenant: TenantNlpConfig | None = None,
    kind: str = "call",
) -> AnalysisDoc:
    """Run the pipeline over one conversation."""
    doc = AnalysisDoc(utterances=utterances, tenant=tenant or TenantNlpConfig())
    doc.kind = "email" if kind == "email" else "call"
    pipeline([doc])
    return doc
