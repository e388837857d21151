"""Reference systems (CRM, recruiting tool, newsletter, directives, recipient inbox) on SQLite or PostgreSQL."""

from __future__ import annotations

from handlers.reference.base import Category, PostgresStore, ReferenceSystem, SqliteSystem, UnsupportedSubmission
from handlers.reference.crm import INVOICE_GROUND, INVOICE_YEARS, CrmAdapter
from handlers.reference.directives import DirectivesRegister
from handlers.reference.newsletter import SUPPRESSION_GROUND, SUPPRESSION_ITEM, SUPPRESSION_YEARS, NewsletterAdapter
from handlers.reference.recipients import RecipientInbox
from handlers.reference.recruitment import RecruitmentAdapter
from handlers.reference.samples import seed_sample_people

__all__ = [
    "INVOICE_GROUND",
    "INVOICE_YEARS",
    "SUPPRESSION_GROUND",
    "SUPPRESSION_ITEM",
    "SUPPRESSION_YEARS",
    "Category",
    "CrmAdapter",
    "DirectivesRegister",
    "NewsletterAdapter",
    "PostgresStore",
    "RecipientInbox",
    "RecruitmentAdapter",
    "ReferenceSystem",
    "SqliteSystem",
    "UnsupportedSubmission",
    "seed_sample_people",
]
