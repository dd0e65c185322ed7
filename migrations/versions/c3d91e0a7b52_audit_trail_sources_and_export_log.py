"""audit trail: where each change came from, the record's key, the reason; the export log

Revision ID: c3d91e0a7b52
Revises: 8a7492ba2568
Create Date: 2026-12-02 09:00:00

Existing trail rows get their source from what they are: a row of an import batch was
written by that import, a row whose summary names an undone batch by its undo, any other by
a screen or the API (the only other writers until now: 页面 stands for both).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3d91e0a7b52'
down_revision = '8a7492ba2568'
branch_labels = None
depends_on = None


def _has_index(table: str, name: str) -> bool:
    return name in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}


def upgrade():
    with op.batch_alter_table('qd_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=False,
                                      server_default='other'))
        batch_op.add_column(sa.Column('record_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('restored_version', sa.Integer(), nullable=True))
        batch_op.create_index('ix_qd_change_changed_on', ['changed_on'], unique=False)
        if not _has_index('qd_change', 'ix_qd_change_changed_by'):  # kept by a downgrade
            batch_op.create_index('ix_qd_change_changed_by', ['changed_by_fk'], unique=False)

    change = sa.table('qd_change', sa.column('source', sa.String), sa.column('batch_id'),
                      sa.column('summary', sa.Text))
    op.execute(change.update().where(change.c.batch_id.isnot(None)).values(source='import'))
    op.execute(change.update().where(change.c.batch_id.is_(None),
                                     change.c.summary.like('撤销导入批次%'))
               .values(source='undo'))
    op.execute(change.update().where(change.c.source == 'other').values(source='screen'))
    with op.batch_alter_table('qd_change', schema=None) as batch_op:
        batch_op.alter_column('source', existing_type=sa.String(length=20),
                              existing_nullable=False, server_default=None)

    op.create_table('qd_export_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('list_title', sa.String(length=60), nullable=False),
    sa.Column('created_on', sa.DateTime(), nullable=False),
    sa.Column('created_by_fk', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('filters', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_fk'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('qd_export_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qd_export_log_created_on'), ['created_on'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('qd_export_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qd_export_log_created_on'))
    op.drop_table('qd_export_log')
    with op.batch_alter_table('qd_change', schema=None) as batch_op:
        if op.get_bind().dialect.name != 'mysql':
            # MariaDB: the foreign key on changed_by_fk needs an index, and this one replaced
            # the one MariaDB had made for it: it stays.
            batch_op.drop_index('ix_qd_change_changed_by')
        batch_op.drop_index('ix_qd_change_changed_on')
        batch_op.drop_column('restored_version')
        batch_op.drop_column('reason')
        batch_op.drop_column('record_key')
        batch_op.drop_column('source')
