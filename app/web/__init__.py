"""The web edges: generated list screens (screens.py, forms.py, filters.py, datamodel.py) and
API (api.py), the Flask-AppBuilder fixes (fab_fixes.py), roles (security.py), the import/export
screens (imports.py) and the review batches (review_batches.py)."""
from __future__ import annotations

import importlib.util


def register_views(appbuilder) -> None:
    """Called by create_app() inside the app context, after FAB's own views."""
    from flask import current_app

    from .errors import register_error_pages
    from .review_batches import register as register_review_batches
    from .screens import register
    register(appbuilder)
    register_review_batches(appbuilder)
    register_error_pages(current_app)
    # The import screens are built alongside; until their module exists the app still starts.
    if importlib.util.find_spec("app.web.imports") is not None:
        from .imports import register as register_imports
        register_imports(appbuilder)
    from .jobs import register as register_jobs
    register_jobs(appbuilder)
