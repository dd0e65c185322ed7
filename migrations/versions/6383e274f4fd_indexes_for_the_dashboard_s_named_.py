"""indexes for the dashboard's named filters

Each Preset that names its columns (Preset(index=...)) gets one composite index, so that
the dashboard counts it from the index alone (app/sheets/indexes.py).

Revision ID: 6383e274f4fd
Revises: 5b1e0c7d9a3f
Create Date: 2026-12-01 13:29:01.451626

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6383e274f4fd'
down_revision = '5b1e0c7d9a3f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qd_deposit', schema=None) as batch_op:
        batch_op.create_index('ix_qd_deposit_status_year', ['status', 'year'], unique=False)

    with op.batch_alter_table('qd_expert', schema=None) as batch_op:
        batch_op.create_index('ix_qd_expert_status_term_ends_on', ['status', 'term_ends_on'], unique=False)

    with op.batch_alter_table('qd_interview', schema=None) as batch_op:
        batch_op.create_index('ix_qd_interview_result_deadline', ['result', 'deadline'], unique=False)

    with op.batch_alter_table('qd_policy', schema=None) as batch_op:
        batch_op.create_index('ix_qd_policy_status_ends_on', ['status', 'ends_on'], unique=False)

    with op.batch_alter_table('qd_qualification', schema=None) as batch_op:
        batch_op.create_index('ix_qd_qualification_status_expires_on', ['status', 'expires_on'], unique=False)


def downgrade():
    with op.batch_alter_table('qd_qualification', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_qualification_status_expires_on')

    with op.batch_alter_table('qd_policy', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_policy_status_ends_on')

    with op.batch_alter_table('qd_interview', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_interview_result_deadline')

    with op.batch_alter_table('qd_expert', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_expert_status_term_ends_on')

    with op.batch_alter_table('qd_deposit', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_deposit_status_year')
