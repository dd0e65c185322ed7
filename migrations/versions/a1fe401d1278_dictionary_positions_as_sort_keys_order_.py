"""dictionary positions as sort keys; order indexes on the columns the orders sort on

An enumeration in a list's own order gets a key of its dictionary position (<column>_sort,
app/sheets/sorting.py), filled here from the dictionaries as configured, and each list's
order index is rebuilt on the columns its order really sorts on (pinyin keys, positions), so
that a page of a million rows is read from the index instead of sorting the table.

Revision ID: a1fe401d1278
Revises: 10d6bd135eb2
Create Date: 2026-12-01 12:52:53.948556

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1fe401d1278'
down_revision = '10d6bd135eb2'
branch_labels = None
depends_on = None

# table -> (list, enumeration) that gets a dictionary position
CHOICE_KEYS = {
    'qd_duty': ('responsibilities', 'stage'),
    'qd_enterprise': ('enterprises', 'district'),
    'qd_expert': ('experts', 'speciality'),
    'qd_qualification': ('qualifications', 'category'),
    'qd_reform': ('reforms', 'change_type'),
    'qd_review': ('reviews', 'category'),
}
# table -> index name -> (columns after, columns before; None: no index before)
ORDER_INDEXES = {
    'qd_agency': {'ix_qd_agency_order': (['name_sort', 'name', 'id'], ['name', 'id'])},
    'qd_duty': {'ix_qd_duty_order': (['power_id', 'stage_sort', 'seq', 'id'], None)},
    'qd_enterprise': {
        'ix_qd_enterprise_district': (['district', 'id'], ['district']),
        'ix_qd_enterprise_order': (['district_sort', 'name_sort', 'name', 'id'],
                                   ['district', 'name', 'id'])},
    'qd_expert': {
        'ix_qd_expert_order': (['speciality_sort', 'name_sort', 'name', 'id'],
                               ['speciality', 'name', 'id']),
        'ix_qd_expert_speciality': (['speciality', 'id'], ['speciality'])},
    'qd_policy': {'ix_qd_policy_order': (
        ['insurer_sort', 'insurer', 'policy_no_sort', 'policy_no', 'id'], None)},
    'qd_power': {'ix_qd_power_order': (
        ['list_version_sort', 'list_version', 'code_sort', 'code', 'id'], None)},
    'qd_qualification': {'ix_qd_qualification_order': (
        ['agency_id', 'category_sort', 'issued_on', 'id'],
        ['agency_id', 'category', 'issued_on', 'id'])},
    'qd_reform': {'ix_qd_reform_order': (
        ['decided_on', 'power_code_sort', 'power_code', 'change_type_sort', 'id'],
        ['decided_on', 'power_code', 'change_type', 'id'])},
    'qd_review': {'ix_qd_review_order': (
        ['year', 'period', 'category_sort', 'blind_no_sort', 'blind_no', 'id'], None)},
}


def _mysql() -> bool:
    return op.get_bind().dialect.name == 'mysql'


def _set_index(table: str, name: str, columns, had: bool) -> None:
    """Replace (or add, or with columns None drop) one index. MariaDB: in one ALTER TABLE,
    since an index a foreign key uses cannot be dropped on its own even for a moment."""
    if _mysql():
        parts = [f'DROP INDEX {name}'] if had else []
        if columns:
            parts.append(f'ADD INDEX {name} ({", ".join(columns)})')
        op.execute(f'ALTER TABLE {table} {", ".join(parts)}')
        return
    if had:
        op.drop_index(name, table_name=table)
    if columns:
        op.create_index(name, table, columns, unique=False)


def upgrade():
    for table, (_slug, field) in CHOICE_KEYS.items():
        op.add_column(table, sa.Column(f'{field}_sort', sa.String(length=3), nullable=True))
    _fill_positions()
    for table, indexes in ORDER_INDEXES.items():
        for name, (after, before) in indexes.items():
            _set_index(table, name, after, had=before is not None)


def _fill_positions():
    from app.sheets.declare import sheets
    from app.sheets.sorting import choice_key
    bind = op.get_bind()
    for table, (slug, field) in CHOICE_KEYS.items():
        value_type = sheets[slug].column(field).type
        t = sa.table(table, sa.column(field), sa.column(f'{field}_sort'))
        for (value,) in bind.execute(sa.select(t.c[field]).distinct()).all():
            if value is not None:
                bind.execute(t.update().where(t.c[field] == value)
                             .values({f'{field}_sort': choice_key(value_type, value)}))


def downgrade():
    for table, indexes in ORDER_INDEXES.items():
        for name, (_after, before) in indexes.items():
            _set_index(table, name, before, had=True)
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+ too): batch mode would copy each table.
    for table, (_slug, field) in CHOICE_KEYS.items():
        op.execute(f'ALTER TABLE {table} DROP COLUMN {field}_sort')
