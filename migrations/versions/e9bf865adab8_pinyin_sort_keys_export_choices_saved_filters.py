"""pinyin sort keys beside listed texts; remembered export columns; saved filters

Revision ID: e9bf865adab8
Revises: 1677dadcd143
Create Date: 2026-12-01 11:00:35.333126

The sort keys (app/sheets/sorting.py) of the records already stored are computed here, so
that the lists sort by pinyin from the first page after the upgrade.
"""
import sqlalchemy as sa
from alembic import op

revision = 'e9bf865adab8'
down_revision = '1677dadcd143'
branch_labels = None
depends_on = None

# table -> its texts with a sort key (<column>_sort); person names read their surname.
SORT_KEYS = {
    "qd_agency": ("name",),
    "qd_deposit": ("bank",),
    "qd_duty": ("matter", "responsible_unit"),
    "qd_enterprise": ("name", "contact"),
    "qd_expert": ("expert_no", "name", "employer", "title"),
    "qd_interview": ("interviewee",),
    "qd_policy": ("policy_no", "insurer"),
    "qd_power": ("list_version", "code", "name", "sub_item", "implementing_body"),
    "qd_qualification": ("cert_no",),
    "qd_reform": ("power_code", "item_name", "decision_no"),
    "qd_review": ("blind_no",),
}
PERSON_NAMES = {("qd_enterprise", "contact"), ("qd_expert", "name"),
                ("qd_interview", "interviewee")}


def upgrade():
    op.create_table(
        'qd_export_choice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=40), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('changed_on', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name='fk_qd_export_choice_user',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('qd_export_choice', schema=None) as batch_op:
        batch_op.create_index('uq_qd_export_choice_user_slug', ['user_id', 'slug'], unique=True)

    op.create_table(
        'qd_saved_filter',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('slug', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_on', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name='fk_qd_saved_filter_user',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('qd_saved_filter', schema=None) as batch_op:
        batch_op.create_index('uq_qd_saved_filter_user_slug_name', ['user_id', 'slug', 'name'],
                              unique=True)

    for table, columns in SORT_KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(f'{column}_sort', sa.String(length=255),
                                              nullable=True))
    _fill_sort_keys()


def _fill_sort_keys():
    from app.sheets.sorting import pinyin_key
    bind = op.get_bind()
    for table, columns in SORT_KEYS.items():
        t = sa.table(table, sa.column('id'), *(sa.column(c) for c in columns),
                     *(sa.column(f'{c}_sort') for c in columns))
        rows = bind.execute(sa.select(t.c.id, *(t.c[c] for c in columns))).all()
        updates = [{'_id': row[0], **{f'_{c}': pinyin_key(row[i + 1],
                                                           person_name=(table, c) in PERSON_NAMES)
                                      for i, c in enumerate(columns)}} for row in rows]
        if updates:
            bind.execute(t.update().where(t.c.id == sa.bindparam('_id')).values(
                {f'{c}_sort': sa.bindparam(f'_{c}') for c in columns}), updates)


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ too): batch mode would copy and drop each
    # table, which SQLite refuses while other tables' rows name it (foreign keys are on).
    for table, columns in SORT_KEYS.items():
        for column in reversed(columns):
            op.execute(f'ALTER TABLE {table} DROP COLUMN {column}_sort')
    # The tables go with their indexes (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table('qd_saved_filter')
    op.drop_table('qd_export_choice')
