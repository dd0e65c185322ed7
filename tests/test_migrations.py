"""The migrations go down as well as up: every downgrade undoes its upgrade, so that a
deploy can be rolled back and upgraded again, on each database (a fresh one of its own)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import DATABASES, _create_database
from flask_appbuilder import Model
from flask_migrate import downgrade, upgrade


@pytest.fixture(params=DATABASES)
def empty_app(request, tmp_path):
    from app import create_app, db
    url, drop = _create_database(request.param, tmp_path)
    application = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                              "SECRET_KEY": "qingdan-test-secret-of-at-least-32-bytes",
                              "QINGDAN_SEED_ON_FIRST_START": False})
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def _tables(app) -> set[str]:
    from app import db
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def _current(app) -> str | None:
    from app import db
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_every_migration_goes_down_to_nothing_and_up_again_to_the_models(empty_app):
    from app import db
    with empty_app.app_context():
        upgrade()
        assert "qd_expert" in _tables(empty_app)
        while _current(empty_app) is not None:  # each step down, up again, then down
            revision = _current(empty_app)
            downgrade(revision="-1")
            upgrade(revision="+1")
            assert _current(empty_app) == revision
            downgrade(revision="-1")
        assert _tables(empty_app) == set()
        upgrade()  # again: nothing a downgrade left behind stands in the way
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(
                conn, opts={"compare_type": True}), Model.metadata)
        assert diff == []
        db.session.remove()
