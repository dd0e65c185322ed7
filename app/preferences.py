"""What a clerk's screens remember for them: the columns they export from a list, and the
filtered lists they saved under a name. One user's, never shown to another."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from .models import now

SAVED_FILTER_NAME_MAX = 60


class ExportChoice(Model):
    """The columns a user last chose to export from a list (by field, in the list's order)."""
    __tablename__ = "qd_export_choice"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE",
                                         name="fk_qd_export_choice_user"), nullable=False)
    slug = Column(String(40), nullable=False)
    fields = Column(JSON, nullable=False)
    changed_on = Column(DateTime, nullable=False, default=now, onupdate=now)

    __table_args__ = (Index("uq_qd_export_choice_user_slug", "user_id", "slug", unique=True),)


class SavedFilter(Model):
    """A filtered list saved under a name: the list page's query string, paging left out."""
    __tablename__ = "qd_saved_filter"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE",
                                         name="fk_qd_saved_filter_user"), nullable=False)
    user = relationship("User")
    slug = Column(String(40), nullable=False)
    name = Column(String(SAVED_FILTER_NAME_MAX), nullable=False)
    query = Column(Text, nullable=False)
    created_on = Column(DateTime, nullable=False, default=now)

    __table_args__ = (Index("uq_qd_saved_filter_user_slug_name", "user_id", "slug", "name",
                            unique=True),)
