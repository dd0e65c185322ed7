"""import drafts keep their plan: a summary on the draft, one preview row per file row

Revision ID: c3d1e5a7b9f2
Revises: c3d91e0a7b52
Create Date: 2026-12-01 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d1e5a7b9f2'
down_revision = 'c3d91e0a7b52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qd_import_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.JSON(), nullable=True))
    op.create_table('qd_import_draft_row',
    sa.Column('draft_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['qd_import_draft.id'],
                            name='fk_qd_import_draft_row_draft', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('draft_id', 'seq')
    )
    with op.batch_alter_table('qd_import_draft_row', schema=None) as batch_op:
        batch_op.create_index('ix_qd_import_draft_row_action', ['draft_id', 'action', 'seq'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('qd_import_draft_row', schema=None) as batch_op:
        batch_op.drop_index('ix_qd_import_draft_row_action')
    op.drop_table('qd_import_draft_row')
    with op.batch_alter_table('qd_import_draft', schema=None) as batch_op:
        batch_op.drop_column('summary')
