from .exports import Export, ExportStatus
from .jobs import JobHeartbeat
from .mail import OutgoingEmail, OutgoingEmailStatus, SuppressedAddress
from .news import ArticleStatus, Audience, NewsArticle, Topic
from .pages import Page

__all__ = [
    "ArticleStatus",
    "Export",
    "ExportStatus",
    "Audience",
    "JobHeartbeat",
    "NewsArticle",
    "OutgoingEmail",
    "OutgoingEmailStatus",
    "Page",
    "SuppressedAddress",
    "Topic",
]
