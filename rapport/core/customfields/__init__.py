"""Custom fields: typed fields administrators add to accounts, contacts and interactions.

Definitions are `CustomField` rows; values live in each record's `custom` JSON column, keyed
by the field's key. `values.clean(...)` validates what a form, the API or an import sends;
`filters` offers the fields to the filter language; `indexes` keeps an expression index per
field marked "indexed" so filtering on it stays fast at scale.
"""

from . import registry

__all__ = ["registry"]
