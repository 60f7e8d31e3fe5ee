"""SQLAlchemy ORM models: one module per table family, all registered on Base.metadata."""

from models.base import Base
from models.conversation import Conversation, TranscriptSegment
from models.deal import Deal, DealStageChange
from models.experiment import (
    ConversationAdherence,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
)
from models.insight import Competitor, Insight, OrgMention, Tracker
from models.job import Job
from models.tenant import ApiKey, Tenant
from models.trend import TrendDay
from models.user import User, WebSession

__all__ = [
    "ApiKey",
    "Base",
    "Competitor",
    "Conversation",
    "ConversationAdherence",
    "Deal",
    "DealStageChange",
    "Experiment",
    "ExperimentExposure",
    "ExperimentVariant",
    "Insight",
    "Job",
    "OrgMention",
    "Tenant",
    "Tracker",
    "TranscriptSegment",
    "TrendDay",
    "User",
    "WebSession",
]
