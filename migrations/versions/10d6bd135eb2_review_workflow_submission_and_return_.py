"""review workflow: submission and return of a batch, an interview's report

Revision ID: 10d6bd135eb2
Revises: e9bf865adab8
Create Date: 2026-12-01 10:53:24.412997

The two-person workflow of review batches: who submitted a batch (提交审核) and when, and a
draft returned (退回) with its reason; an interview's link to the reviewed report it was
opened from (nullable: interviews before this revision, and imported ones, have none).
Batches already approved or published keep their status.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '10d6bd135eb2'
down_revision = 'e9bf865adab8'
branch_labels = None
depends_on = None


# Who submitted a batch and who returned it: ab_user ids, as approved_by_fk.
USER_COLUMNS = (("submitted_by_fk", "fk_qd_review_batch_submitted_by"),
                ("returned_by_fk", "fk_qd_review_batch_returned_by"))


def upgrade():
    with op.batch_alter_table('qd_interview', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_qd_interview_review_id'), ['review_id'], unique=False)
        batch_op.create_foreign_key('fk_qd_interview_review', 'qd_review', ['review_id'], ['id'], ondelete='RESTRICT')

    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table('qd_review_batch', schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column('submitted_on', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('return_reason', sa.String(length=500), nullable=True))
        if not sqlite:
            for column, fk in USER_COLUMNS:
                batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
                batch_op.create_foreign_key(fk, 'ab_user', [column], ['id'])
    if sqlite:
        # Batch mode would rebuild qd_review_batch, and SQLite refuses to drop a table that
        # qd_publication's rows refer to; it adds a column with its REFERENCES in place.
        for column, fk in USER_COLUMNS:
            op.execute(f"ALTER TABLE qd_review_batch ADD COLUMN {column} INTEGER "
                       f"CONSTRAINT {fk} REFERENCES ab_user (id)")


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table('qd_review_batch', schema=None, recreate="never") as batch_op:
        if not sqlite:
            for column, fk in reversed(USER_COLUMNS):
                batch_op.drop_constraint(fk, type_='foreignkey')
                batch_op.drop_column(column)
        batch_op.drop_column('return_reason')
        batch_op.drop_column('returned_on')
        batch_op.drop_column('submitted_on')
    if sqlite:
        # SQLite drops no column a REFERENCES names: rebuild the table, foreign keys
        # unenforced meanwhile (a PRAGMA outside any transaction), as SQLite documents.
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
        with op.batch_alter_table('qd_review_batch', schema=None, recreate="always") as batch_op:
            for column, _fk in reversed(USER_COLUMNS):
                batch_op.drop_column(column)
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")

    with op.batch_alter_table('qd_interview', schema=None) as batch_op:
        batch_op.drop_constraint('fk_qd_interview_review', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_qd_interview_review_id'))
        batch_op.drop_column('review_id')
