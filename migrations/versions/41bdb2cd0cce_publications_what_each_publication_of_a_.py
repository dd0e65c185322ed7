"""publications: what each publication of a review batch made public

Revision ID: 41bdb2cd0cce
Revises: c3d1e5a7b9f2
Create Date: 2026-12-01 09:45:09.481074

Batches published before this revision get the publication of their current revision, from
their reviews as they are now (read-only while published, so as published). Earlier,
superseded revisions cannot be recovered: the public pages list them from the batch history.
"""
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '41bdb2cd0cce'
down_revision = 'c3d1e5a7b9f2'
branch_labels = None
depends_on = None

# The review list's public fields when this migration was written (app/lists/agencies.py).
PUBLIC_REVIEW_FIELDS = ("year", "period", "category", "agency.name", "agency.credit_code",
                        "report_no", "report_type", "project_name", "issued_on", "score",
                        "grade", "problems", "site_check", "measure")


def upgrade():
    op.create_table('qd_publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('published_on', sa.DateTime(), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['qd_review_batch.id'], name='fk_qd_publication_batch', ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'revision', name='uq_qd_publication_key')
    )
    op.create_table('qd_published_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['publication_id'], ['qd_publication.id'], name='fk_qd_published_review_publication', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('publication_id', 'seq', name='uq_qd_published_review_key')
    )
    with op.batch_alter_table('qd_published_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qd_published_review_agency_id'), ['agency_id'], unique=False)
    _store_current_publications()


def _json(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _store_current_publications():
    conn = op.get_bind()
    meta = sa.MetaData()
    batch = sa.Table("qd_review_batch", meta, autoload_with=conn)
    review = sa.Table("qd_review", meta, autoload_with=conn)
    agency = sa.Table("qd_agency", meta, autoload_with=conn)
    # Declared, not reflected: MariaDB reflects JSON as LONGTEXT, which takes no dict.
    publication = sa.table("qd_publication", sa.column("id", sa.Integer),
                           sa.column("batch_id", sa.Integer), sa.column("revision", sa.Integer),
                           sa.column("published_on", sa.DateTime),
                           sa.column("reports", sa.Integer))
    published = sa.table("qd_published_review", sa.column("publication_id", sa.Integer),
                         sa.column("seq", sa.Integer), sa.column("agency_id", sa.Integer),
                         sa.column("data", sa.JSON))
    for b in conn.execute(sa.select(batch).where(batch.c.status == "已发布")).mappings().all():
        rows = conn.execute(
            sa.select(review, agency.c.name.label("agency.name"),
                      agency.c.credit_code.label("agency.credit_code"))
            .select_from(review.outerjoin(agency, agency.c.id == review.c.agency_id))
            .where(review.c.year == b["year"], review.c.period == b["period"],
                   review.c.category == b["category"])
            .order_by(review.c.blind_no, review.c.id)).mappings().all()
        conn.execute(publication.insert().values(
            batch_id=b["id"], revision=b["revision"] or 1, reports=len(rows),
            published_on=b["published_on"] or b["changed_on"]))
        pub_id = conn.scalar(sa.select(publication.c.id).where(
            publication.c.batch_id == b["id"], publication.c.revision == (b["revision"] or 1)))
        if rows:
            conn.execute(published.insert(), [
                {"publication_id": pub_id, "seq": i, "agency_id": r["agency_id"],
                 "data": {f: _json(r[f]) for f in PUBLIC_REVIEW_FIELDS}}
                for i, r in enumerate(rows, 1)])


def downgrade():
    with op.batch_alter_table('qd_published_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qd_published_review_agency_id'))

    op.drop_table('qd_published_review')
    op.drop_table('qd_publication')
