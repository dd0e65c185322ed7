"""Blind-review results as the public sees them: only what a publication stored
(app/publications.py), by batch, by revision and by agency.

A batch standing published shows its current revision, and every earlier one marked 已更正
with a link to it. A batch withdrawn for correction shows that it was withdrawn and when, but
no score, no grade and no download: the bureau has said those figures are being corrected,
and a result that was public does not vanish without a word either.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ...lists.agencies import REVIEW_GRADES
from ...publications import BatchHistory, Publication, PublishedReview, published_batches
from ...sheets.declare import sheets
from .chart import Point
from .downloads import Table
from .fields import BATCH_FIELDS, STATES, PublicField, public_fields

AGENCY_FIELDS = ("agency.name", "agency.credit_code")
AGENCY_ID = "_agency_id"  # in a shown row, for the link to the agency's profile only


def review_fields() -> list[PublicField]:
    return public_fields(sheets["reviews"])


def batch_fields() -> list[PublicField]:
    return [PublicField(name, label, None, kind) for name, label, kind in BATCH_FIELDS]


def report_fields() -> list[PublicField]:
    """What a batch page shows of each report (the batch itself is in the heading)."""
    return [f for f in review_fields() if f.name not in ("year", "period", "category")]


def batch_name(batch) -> str:
    return f"{batch.year}年第{batch.period}期{batch.category}"


def short_name(batch) -> str:
    return f"{batch.year}年第{batch.period}期 {batch.category.removesuffix('报告')}"


@dataclass
class Shown:
    """One revision of a batch on a public page."""
    history: BatchHistory
    publication: Publication

    @property
    def state(self) -> str:
        return self.history.state(self.publication)

    @property
    def state_text(self) -> str:
        return STATES[self.state]

    @property
    def rows(self) -> list[dict]:
        """The reports, or none at all while the batch is withdrawn."""
        if self.state == "withdrawn":
            return []
        return [{**r.record(), AGENCY_ID: r.agency_id} for r in self.publication.rows]

    @property
    def grades(self) -> dict[str, int]:
        counts = dict.fromkeys(REVIEW_GRADES, 0)
        for r in self.rows:
            if r.get("grade") in counts:
                counts[r["grade"]] += 1
        return counts

    def table(self) -> Table:
        meta = {"revision": self.publication.revision, "state": self.state_text,
                "published_on": self.publication.published_on.date()}
        b = self.history.batch
        current = self.history.current
        return Table(
            title=f"{batch_name(b)}（第{self.publication.revision}版）",
            fields=batch_fields() + review_fields(),
            rows=[{**meta, **r} for r in self.rows],
            about={"batch": {"year": b.year, "period": b.period, "category": b.category},
                   "revision": self.publication.revision, "state": self.state_text,
                   "published_on": self.publication.published_on.date().isoformat(),
                   "current_revision": current.revision if current else None},
            note=(f"报告盲审结果，第{self.publication.revision}版，"
                  f"{self.publication.published_on:%Y-%m-%d}发布，{self.state_text}。"))


def batches(session) -> list[BatchHistory]:
    return published_batches(session)


def batch(session, key: tuple) -> BatchHistory | None:
    found = published_batches(session, key)
    return found[0] if found else None


# ---------------------------------------------------------------------------- an agency
@dataclass
class AgencyBatch:
    """One batch in an agency's profile: its reports there (none while withdrawn)."""
    history: BatchHistory
    rows: list[dict]

    @property
    def withdrawn(self) -> bool:
        return self.history.withdrawn

    @property
    def corrected(self) -> bool:
        return not self.withdrawn and len(self.history.publications) > 1


def agency_results(session, agency_id: int) -> list[AgencyBatch]:
    """The batches in whose last publication the agency has reports, newest first: its
    reports in the current revision, or the bare notice while the batch is withdrawn."""
    pubs = set(session.scalars(sa.select(PublishedReview.publication_id).distinct().where(
        PublishedReview.agency_id == agency_id)))
    out = []
    for h in published_batches(session) if pubs else []:
        last = h.publications[-1]
        if last.id not in pubs:
            continue
        rows = [] if h.withdrawn else [r.record() for r in last.rows
                                       if r.agency_id == agency_id]
        out.append(AgencyBatch(h, rows))
    return out


def chart_points(results: list[AgencyBatch]) -> list[Point]:
    """Oldest batch first, the current revisions only."""
    return [Point(short_name(r.history.batch), tuple(x["score"] for x in r.rows
                                                     if x.get("score") is not None))
            for r in reversed(results) if not r.withdrawn]
