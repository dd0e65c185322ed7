"""The web edges: generated list screens (screens.py, saving.py, forms.py, filters.py,
datamodel.py) and API (api.py), both calling the record commands (commands.py), the
Flask-AppBuilder fixes (fab_fixes.py), roles (security.py), the import/export screens
(imports.py), the review batches (review_batches.py), the audit trail's screens (history.py,
audit_log.py), the dashboard (dashboard.py) and the public pages without login (public/);
the screens' assets (assets.py, static/), the parent pickers (lookups.py), bulk edit (bulk.py), export
of chosen columns (export_columns.py), saved filters (saved_filters.py)."""
from __future__ import annotations

import importlib.util


def register_views(appbuilder) -> None:
    """Called by create_app() inside the app context, after FAB's own views."""
    from flask import current_app

    from .dashboard import register as register_dashboard
    from .errors import register_error_pages
    from .fab_fixes import after_appbuilder
    from .public import register as register_public
    from .review_batches import register as register_review_batches
    from .screens import register
    after_appbuilder(appbuilder)
    register(appbuilder)
    register_review_batches(appbuilder)
    register_dashboard(appbuilder)
    register_public(current_app)
    register_error_pages(current_app)
    # The import screens are built alongside; until their module exists the app still starts.
    if importlib.util.find_spec("app.web.imports") is not None:
        from .imports import register as register_imports
        register_imports(appbuilder)
    from .audit_log import register as register_audit_log
    register_audit_log(appbuilder)
    from .jobs import register as register_jobs
    register_jobs(appbuilder)
    from .assets import register as register_assets
    from .lookups import register as register_lookups
    register_assets(current_app, f"{type(appbuilder.sm.auth_view).__name__}.login")
    register_lookups(current_app)
    from .bulk import register as register_bulk
    register_bulk(appbuilder)
    from .export_columns import register as register_export_columns
    register_export_columns(appbuilder)
    from .saved_filters import register as register_saved_filters
    register_saved_filters(appbuilder)
