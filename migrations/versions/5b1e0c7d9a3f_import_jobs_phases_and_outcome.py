"""background jobs of imports: a job's progress per phase and its outcome

Revision ID: 5b1e0c7d9a3f
Revises: a1fe401d1278
Create Date: 2026-12-01 12:50:00.000000

Planning and confirming a large import run as background jobs (app/web/import_jobs.py): the
progress page shows each phase (读取, 检查, 写入) with its counts, and a finished job says
where the clerk goes on to (the draft's preview, the import batch). Both nullable: exports
have neither.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5b1e0c7d9a3f'
down_revision = 'a1fe401d1278'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qd_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phases', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('qd_job', schema=None) as batch_op:
        batch_op.drop_column('outcome')
        batch_op.drop_column('phases')
