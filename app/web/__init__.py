"""The web screens: generated list screens and API (views.py), roles (security.py), and the
import/export screens (imports.py)."""
from __future__ import annotations

import importlib.util


def register_views(appbuilder) -> None:
    """Called by create_app() inside the app context, after FAB's own views."""
    from flask import current_app

    from .errors import register_error_pages
    from .review_batches import register as register_review_batches
    from .views import register
    register(appbuilder)
    register_review_batches(appbuilder)
    register_error_pages(current_app)
    # The import screens are built alongside; until their module exists the app still starts.
    if importlib.util.find_spec("app.web.imports") is not None:
        from .imports import register as register_imports
        register_imports(appbuilder)
