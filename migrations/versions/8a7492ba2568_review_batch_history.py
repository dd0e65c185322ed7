"""review batch history: each publication and withdrawal of a review batch

Revision ID: 8a7492ba2568
Revises: f550df7c4a93
Create Date: 2026-11-29 10:15:43.306759

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8a7492ba2568'
down_revision = 'f550df7c4a93'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qd_review_batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('qd_review_batch', schema=None) as batch_op:
        batch_op.drop_column('history')
