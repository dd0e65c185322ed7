"""发布留档: what each publication of a review batch made public, kept as it was published.

A batch's reviews are edited in place when it is corrected (撤回修订 → revision + 1 → 发布), so
what revision 1 said would be lost. Whenever a batch becomes 已发布, by whatever path (the
batch screen, the command line, a later workflow), the same transaction stores a Publication
of that revision with one PublishedReview per report, holding only the review list's public
fields (`Sheet.public` of 报告盲审结果). The public pages read reviews from here and nowhere
else: what was never published cannot reach them, and an old revision stays as it was.

What the public sees of a batch (see `BatchHistory`):
    published now, revision N   revision N is current; earlier ones are 已更正 (superseded)
    withdrawn for correction    no scores at all, a notice that it is being corrected
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Session, joinedload, relationship

from .lists.agencies import BATCH_PUBLISHED, REVIEW_CATEGORIES, Review, ReviewBatch
from .models import now
from .sheets.declare import sheets
from .sheets.types import Date, Score

WITHDRAWN_EVENT = "撤回修订"  # app.reviews.WITHDRAWN_EVENT (not imported: reviews imports lists)


class Publication(Model):
    """One revision of one batch as published."""
    __tablename__ = "qd_publication"

    id = sa.Column(sa.Integer, primary_key=True)
    batch_id = sa.Column(sa.Integer, sa.ForeignKey("qd_review_batch.id", ondelete="RESTRICT",
                                                   name="fk_qd_publication_batch"),
                         nullable=False)  # leads the key constraint: indexed by it
    batch = relationship(ReviewBatch)
    revision = sa.Column(sa.Integer, nullable=False)
    published_on = sa.Column(sa.DateTime, nullable=False)
    reports = sa.Column(sa.Integer, nullable=False)
    rows = relationship("PublishedReview", back_populates="publication",
                        order_by="PublishedReview.seq", cascade="all, delete-orphan")

    __table_args__ = (sa.UniqueConstraint("batch_id", "revision", name="uq_qd_publication_key"),)

    def __repr__(self):
        return (f"Publication(id={self.id!r}, batch_id={self.batch_id!r}, "
                f"revision={self.revision!r})")


class PublishedReview(Model):
    """One report of a publication: the review's public fields by field name, as published.
    `agency_id` (no foreign key: an agency deleted later keeps its published results) finds
    an agency's results for its public profile."""
    __tablename__ = "qd_published_review"

    id = sa.Column(sa.Integer, primary_key=True)
    publication_id = sa.Column(sa.Integer, sa.ForeignKey(
        "qd_publication.id", ondelete="CASCADE", name="fk_qd_published_review_publication"),
        nullable=False)  # leads the key constraint: indexed by it
    publication = relationship("Publication", back_populates="rows")
    seq = sa.Column(sa.Integer, nullable=False)
    agency_id = sa.Column(sa.Integer, nullable=True, index=True)
    data = sa.Column(sa.JSON, nullable=False)

    __table_args__ = (sa.UniqueConstraint("publication_id", "seq",
                                          name="uq_qd_published_review_key"),)

    def record(self) -> dict:
        """The public fields as values of their column types (dates, decimals)."""
        return restore(self.data or {})


# ---------------------------------------------------------------------------- storing
def public_review_fields() -> tuple[str, ...]:
    return sheets["reviews"].public.fields


def _json(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def restore(values: dict) -> dict:
    sheet = sheets["reviews"]
    out = {}
    for name in public_review_fields():
        value = values.get(name)
        col = next((c for c in sheet.columns if c.field == name), None)
        if value is not None and col is not None:
            if isinstance(col.type, Date):
                value = dt.date.fromisoformat(value)
            elif isinstance(col.type, Score):
                value = Decimal(str(value))
        out[name] = value
    return out


def _public_values(review: Review) -> dict:
    out = {}
    for name in public_review_fields():
        obj, attr = review, name
        if "." in name:
            rel, attr = name.split(".", 1)
            obj = getattr(review, rel)
        out[name] = None if obj is None else _json(getattr(obj, attr))
    return out


def store_publication(session: Session, batch: ReviewBatch) -> Publication | None:
    """Store what publishing `batch` (its current revision) makes public; the caller's
    transaction commits it. Once per revision: None when it is stored already."""
    revision = batch.revision or 1
    with session.no_autoflush:
        if batch.id is not None and session.scalar(sa.select(Publication.id).where(
                Publication.batch_id == batch.id, Publication.revision == revision)):
            return None
        reviews = session.scalars(
            sa.select(Review).options(joinedload(Review.agency))
            .where(Review.year == batch.year, Review.period == batch.period,
                   Review.category == batch.category)
            .order_by(Review.blind_no, Review.id)).all()
    publication = Publication(batch=batch, revision=revision, reports=len(reviews),
                              published_on=batch.published_on or now())
    publication.rows = [PublishedReview(seq=i, agency_id=r.agency_id, data=_public_values(r))
                        for i, r in enumerate(reviews, 1)]
    session.add(publication)
    return publication


def _became_published(batch: ReviewBatch) -> bool:
    if batch.status != BATCH_PUBLISHED:
        return False
    state = sa.inspect(batch)
    return state.pending or bool(state.attrs.status.history.added)


@sa.event.listens_for(Session, "before_flush")
def _store_publications(session: Session, _context, _instances) -> None:
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, ReviewBatch) and _became_published(obj):
            store_publication(session, obj)


# ---------------------------------------------------------------------------- reading
@dataclass
class BatchHistory:
    """A batch that has been published at least once, as the public sees it."""
    batch: ReviewBatch
    publications: list[Publication]  # oldest first

    @property
    def current(self) -> Publication | None:
        last = self.publications[-1] if self.publications else None
        if (last is not None and self.batch.status == BATCH_PUBLISHED
                and last.revision == (self.batch.revision or 1)):
            return last
        return None

    @property
    def withdrawn(self) -> bool:
        return self.current is None

    def state(self, publication: Publication) -> str:
        """current / superseded (已更正) / withdrawn (撤回更正中)."""
        current = self.current
        if current is None:
            return "withdrawn"
        return "current" if publication.id == current.id else "superseded"

    @property
    def withdrawn_on(self) -> dt.datetime | None:
        """When the last publication was withdrawn (None while one stands published)."""
        if not self.withdrawn:
            return None
        events = [e for e in (self.batch.history or []) if e.get("event") == WITHDRAWN_EVENT]
        if not events:
            return None
        try:
            return dt.datetime.fromisoformat(events[-1]["on"])
        except (KeyError, TypeError, ValueError):
            return None

    def revision(self, number: int) -> Publication | None:
        return next((p for p in self.publications if p.revision == number), None)


def published_batches(session: Session, key: tuple | None = None) -> list[BatchHistory]:
    """Every batch with a publication (or the one of `key`), newest batch first: two queries."""
    stmt = sa.select(Publication).options(joinedload(Publication.batch)).order_by(
        Publication.batch_id, Publication.revision)
    if key is not None:
        stmt = stmt.join(Publication.batch).where(
            ReviewBatch.year == key[0], ReviewBatch.period == key[1],
            ReviewBatch.category == key[2])
    by_batch: dict[int, BatchHistory] = {}
    for pub in session.scalars(stmt).unique():
        by_batch.setdefault(pub.batch_id, BatchHistory(pub.batch, [])).publications.append(pub)

    def order(h: BatchHistory):
        b = h.batch
        rank = REVIEW_CATEGORIES.index(b.category) if b.category in REVIEW_CATEGORIES else 99
        return (-b.year, -b.period, rank, b.category)
    return sorted(by_batch.values(), key=order)
