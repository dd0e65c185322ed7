"""The bureau's lists: one module per family, each holding its models and Sheet declarations.

Importing this package registers every Sheet in `app.sheets.declare.sheets`, families in
dependency order (parents before children): the import order below IS the registry order, so
it must not be sorted alphabetically. A new list is one more declaration in its family's
module (or one more module imported here).
"""
# isort: skip_file
from . import powers  # noqa: F401  powers, responsibilities, reforms
from . import experts  # noqa: F401  experts
from . import agencies  # noqa: F401  agencies, qualifications, reviews, interviews
from . import deposits  # noqa: F401  enterprises, policies, deposits

# The indexes the lists' screens need at scale, derived from the declarations above.
from app.sheets.indexes import declare_list_indexes  # noqa: E402
from app.sheets.declare import sheets  # noqa: E402
declare_list_indexes(sheets)
