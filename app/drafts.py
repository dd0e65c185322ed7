"""Import drafts: an uploaded file waiting between preview and confirmation.

Several app processes share one database and no disk, so the file itself is kept here, with
the options it was uploaded with and the fingerprint of the plan the clerk was shown. A draft
belongs to the user who uploaded it; it is removed once imported, and drafts older than
MAX_AGE are purged whenever someone uploads.
"""
from __future__ import annotations

import datetime as dt
import uuid

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, delete
from sqlalchemy.orm import Session

from .models import FileContent, now

MAX_AGE = dt.timedelta(days=1)


def _new_id() -> str:
    # Unguessable: the id appears in URLs, and a draft holds a whole file of personal data.
    return uuid.uuid4().hex


class ImportDraft(Model):
    __tablename__ = "qd_import_draft"

    id = Column(String(32), primary_key=True, default=_new_id)
    slug = Column(String(40), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    file_name = Column(String(255), nullable=False)
    content = Column(FileContent, nullable=False)
    options = Column(JSON, nullable=False, default=dict)  # {"complete": bool, "valid_only": bool}
    fingerprint = Column(String(64), nullable=True)        # of the plan last shown
    created_on = Column(DateTime, nullable=False, default=now, index=True)

    @property
    def complete(self) -> bool:
        return bool((self.options or {}).get("complete"))

    @property
    def valid_only(self) -> bool:
        return bool((self.options or {}).get("valid_only"))


def purge_old_drafts(session: Session, *, older_than: dt.timedelta = MAX_AGE) -> int:
    """Remove abandoned drafts (the caller commits)."""
    result = session.execute(delete(ImportDraft)
                             .where(ImportDraft.created_on < now() - older_than))
    return result.rowcount or 0
