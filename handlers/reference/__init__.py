"""Reference systems on SQLite (CRM, recruiting tool, newsletter, recipient inbox) behind the adapter protocol."""
from __future__ import annotations

from handlers.reference.base import Category, SqliteSystem, UnsupportedSubmission
from handlers.reference.directives import DirectivesRegister
from handlers.reference.crm import INVOICE_GROUND, INVOICE_YEARS, CrmAdapter
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
    "RecipientInbox",
    "RecruitmentAdapter",
    "SqliteSystem",
    "UnsupportedSubmission",
    "seed_sample_people",
]
