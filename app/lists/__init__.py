"""The bureau's lists: one module per family, each holding its models and Sheet declarations.

Importing this package imports every module in it and then seals the registry
(`app.sheets.declare.sheets`): the order of the lists comes from the relations they declare
(parents before children) and from `Sheet.menu_order`, never from the order of the modules.
A new list is one model and one Sheet in its family's module; a new family is one more
module here, found without being named anywhere.

    powers.py     powers, responsibilities, reforms           (权责清单)
    experts.py    experts                                     (专家库)
    agencies.py   agencies, qualifications, reviews, interviews (技术服务机构)
    deposits.py   enterprises, policies, deposits             (抵押金与保险)
"""
import importlib
import pkgutil

import flask_appbuilder.security.sqla.models  # noqa: F401  (User: the stamps refer to it)

from app.sheets.declare import sheets
from app.sheets.indexes import declare_list_indexes

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

sheets.seal()
# The indexes the lists' screens need at scale, derived from the declarations.
declare_list_indexes(sheets)
