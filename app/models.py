"""What every list record has, and the records of the audit trail.

Every list model subclasses `Record`: an integer id, a version that goes up on every change
(so an import confirmed after someone else's edit can notice), and who/when stamps that may
be empty (the command line and seed loading have no logged-in user).
"""
from __future__ import annotations

import datetime as dt

from flask import g, has_request_context
from flask_appbuilder import Model
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
)
from sqlalchemy.dialects.mysql import LONGBLOB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import declared_attr, relationship

# Uploaded files (up to the upload limit): bytea / BLOB, and LONGBLOB on MySQL/MariaDB,
# whose plain BLOB stops at 64 KB.
FileContent = LargeBinary().with_variant(LONGBLOB(), "mysql", "mariadb")


def now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


# Who/when stamps of every Record: written by the app, never compared, imported or kept in the
# audit trail's snapshots (the trail has its own who and when).
STAMP_FIELDS = ("created_on", "changed_on", "created_by_fk", "changed_by_fk")


def stamps(user_id: int | None, on: dt.datetime, *, created: bool) -> dict:
    """The stamp values of a write by `user_id` at `on` (a creation sets both pairs)."""
    out = {"changed_on": on, "changed_by_fk": user_id}
    if created:
        out.update(created_on=on, created_by_fk=user_id)
    return out


def current_user_id() -> int | None:
    if has_request_context():
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id
    return None


class Record(Model):
    __abstract__ = True

    id = Column(Integer, primary_key=True)
    version = Column(Integer, nullable=False, default=1)
    created_on = Column(DateTime, nullable=False, default=now)
    changed_on = Column(DateTime, nullable=False, default=now, onupdate=now)

    @declared_attr
    def created_by_fk(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True, default=current_user_id)

    @declared_attr
    def changed_by_fk(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True,
                      default=current_user_id, onupdate=current_user_id)

    @declared_attr
    def __mapper_args__(cls):
        # Optimistic locking: two clerks saving the same record cannot overwrite each other.
        return {"version_id_col": cls.version}


class ValidityWindow:
    """A certificate or policy: valid from a start date to an end date while its typed status
    is 有效. Expiry is derived from the end date, never typed. Subclasses name their dates."""
    VALID, EXPIRED = "有效", "已过期"
    COMPUTED = {"validity": "有效状态", "expired": "已过期"}  # labels, for a Sheet's `computed`
    starts_attr = "starts_on"
    ends_attr = "ends_on"

    def is_valid_on(self, on: dt.date) -> bool:
        starts, ends = getattr(self, self.starts_attr), getattr(self, self.ends_attr)
        return (self.status == self.VALID and starts is not None and ends is not None
                and starts <= on <= ends)

    @classmethod
    def valid_on(cls, on: dt.date):
        """The same as is_valid_on, as an SQL condition."""
        return and_(cls.status == cls.VALID, getattr(cls, cls.starts_attr) <= on,
                    getattr(cls, cls.ends_attr) >= on)

    @hybrid_property
    def expired(self) -> bool:
        ends = getattr(self, self.ends_attr)
        return ends is not None and ends < dt.date.today()

    @expired.inplace.expression
    @classmethod
    def _expired_expression(cls):
        return getattr(cls, cls.ends_attr) < dt.date.today()

    @property
    def validity(self) -> str:
        """有效 / 已过期 / the typed status (暂停, 撤销, 已退保 …), for display."""
        if self.status != self.VALID:
            return self.status or ""
        return self.EXPIRED if self.expired else self.VALID


class ImportBatch(Model):
    """One import: who, when, what file, with which options, and what it did."""
    __tablename__ = "qd_import_batch"

    id = Column(Integer, primary_key=True)
    slug = Column(String(40), nullable=False, index=True)
    list_title = Column(String(60), nullable=False)
    created_on = Column(DateTime, nullable=False, default=now)
    created_by_fk = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User", foreign_keys=[created_by_fk])
    source = Column(String(10), nullable=False, default="web")  # web / cli / seed
    file_name = Column(String(255), nullable=False)
    file_size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    options = Column(JSON, nullable=False, default=dict)
    created = Column(Integer, nullable=False, default=0)
    updated = Column(Integer, nullable=False, default=0)
    unchanged = Column(Integer, nullable=False, default=0)
    deleted = Column(Integer, nullable=False, default=0)
    errors = Column(Integer, nullable=False, default=0)
    undone = Column(Boolean, nullable=False, default=False)
    undone_on = Column(DateTime, nullable=True)
    undone_by_fk = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    file = relationship("ImportFile", uselist=False, back_populates="batch",
                        cascade="all, delete-orphan")
    changes = relationship("Change", back_populates="batch", lazy="dynamic")

    def __repr__(self):
        return f"{self.list_title} {self.file_name}"


class ImportFile(Model):
    """The original uploaded file, kept apart so that batch lists stay light."""
    __tablename__ = "qd_import_file"

    id = Column(Integer, primary_key=True)
    batch_id = Column(Integer, ForeignKey("qd_import_batch.id", ondelete="CASCADE"),
                      nullable=False, unique=True)
    content = Column(FileContent, nullable=False)
    batch = relationship("ImportBatch", back_populates="file")


class Change(Model):
    """One record created, updated, deleted or restored, with its values before and after.

    Written by every path that changes a list (app/sheets/records.py for screens, API and
    restore; the import engine in bulk; review-batch actions), with where it came from
    (`source`, see app/audit.py), the record's key as people name it and the reason when one
    was given. Never edited or deleted by the application: the history of a record, the
    操作日志, and what an import's undo restores.
    """
    __tablename__ = "qd_change"

    id = Column(Integer, primary_key=True)
    slug = Column(String(40), nullable=False)
    record_id = Column(Integer, nullable=False)
    action = Column(String(10), nullable=False)  # create / update / delete
    before = Column(JSON, nullable=True)
    after = Column(JSON, nullable=True)
    version_after = Column(Integer, nullable=True)
    batch_id = Column(Integer, ForeignKey("qd_import_batch.id", ondelete="CASCADE"),
                      nullable=True, index=True)
    batch = relationship("ImportBatch", back_populates="changes")
    changed_on = Column(DateTime, nullable=False, default=now)
    changed_by_fk = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    changed_by = relationship("User", foreign_keys=[changed_by_fk])
    summary = Column(Text, nullable=True)
    source = Column(String(20), nullable=False, default="other")  # app/audit.py SOURCES
    record_key = Column(String(255), nullable=True)   # the record's key, as people name it
    reason = Column(Text, nullable=True)
    restored_version = Column(Integer, nullable=True)  # a restore: the version brought back

    __table_args__ = (
        # the history screen of one record
        Index("ix_qd_change_record", "slug", "record_id"),
        # the 操作日志, newest first, and its filters
        Index("ix_qd_change_changed_on", "changed_on"),
        Index("ix_qd_change_changed_by", "changed_by_fk"),
    )


class ExportRecord(Model):
    """An export of a list that holds ID numbers: who, when, which list, how many rows, with
    which filter. Never edited or deleted by the application."""
    __tablename__ = "qd_export_log"

    id = Column(Integer, primary_key=True)
    slug = Column(String(40), nullable=False)
    list_title = Column(String(60), nullable=False)
    created_on = Column(DateTime, nullable=False, default=now, index=True)
    created_by_fk = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    created_by = relationship("User", foreign_keys=[created_by_fk])
    source = Column(String(10), nullable=False, default="web")  # web / cli
    rows = Column(Integer, nullable=False)
    filters = Column(Text, nullable=True)  # the list page's filter, as its query string
