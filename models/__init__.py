"""SQLAlchemy ORM models: one module per table family, all registered on Base.metadata."""

from models.base import Base
from models.conversation import Conversation, TranscriptSegment
from models.insight import Competitor, Insight, OrgMention, Tracker
from models.job import Job
from models.tenant import ApiKey, Tenant

__all__ = [
    "ApiKey",
    "Base",
    "Competitor",
    "Conversation",
    "Insight",
    "Job",
    "OrgMention",
    "Tenant",
    "Tracker",
    "TranscriptSegment",
]
