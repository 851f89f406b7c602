"""The import registry: which records a file can be imported into, and how.

Importing lives in `rapport.dataops`, above the domain apps. Each domain app says here what
its records take from a file — the fields (with the header words that suggest them), the keys
that find existing records, and the services that write them — when it loads:

    imports.register(imports.ImportType(
        object_type="sales.lead", label=_("Leads"), model=Lead, fields=(…),
        create=…, remove=…, keys=("phone", "email"), find=…, update=…, assign=…,
    ))

and dataops reads it (`get`, `types`). A type without `update` is add-only (history such as
interactions): its rows are told apart by their cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# How a cell becomes the value given to the services:
TEXT = "text"  # as written; the services clean and validate it
OWNER = "owner"  # a username → the active user
ACCOUNT = "account"  # an account by credit code or name → the account
ACCOUNTS = "accounts"  # the same, as a list of one (contacts belong to several accounts)
CONTACT = "contact"  # a contact by phone, e-mail or (unique) name → the contact
CHOICE = "choice"  # a choice's code or its label in Chinese or English → the code
DATETIME = "datetime"  # a date and time in the common forms → ISO text
PARSERS = (TEXT, OWNER, ACCOUNT, ACCOUNTS, CONTACT, CHOICE, DATETIME)


@dataclass(frozen=True)
class ImportField:
    name: str
    label: Any
    synonyms: tuple[str, ...] = ()  # header words (Chinese and English) that suggest it
    required: bool = False  # when creating
    parse: str = TEXT
    target: str = ""  # the service's argument, when it is not `name`
    # CHOICE: the (code, label) pairs offered, and other words for some codes
    choices: tuple[tuple[str, Any], ...] = ()
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # a key field: the cell's value as stored and looked up ("" when it is not valid)
    normalize: Callable[[str], str] | None = None

    def __post_init__(self) -> None:
        if self.parse not in PARSERS:
            raise ValueError(f"{self.name}: unknown parse {self.parse!r}")

    @property
    def argument(self) -> str:
        return self.target or self.name


@dataclass(frozen=True)
class ImportType:
    object_type: str
    label: Any  # plural ("Leads"), for the type menu
    model: type
    fields: tuple[ImportField, ...]
    # create(actor=, owner=None, **values) → the record
    create: Callable[..., Any]
    # remove(actor=, record=): what rolling back an import does to a record it created
    remove: Callable[..., Any]
    # fields whose value finds an existing record (update by key), and
    # find(actor, key, values) → {value: [records the actor may change]}
    keys: tuple[str, ...] = ()
    find: Callable[..., dict[str, list[Any]]] | None = None
    # update(actor=, record=, **values); assign(actor=, record=, owner=)
    update: Callable[..., Any] | None = None
    assign: Callable[..., Any] | None = None
    # create_many(actor=, rows=[values]) → [record or ValidationError]: a batch at once
    create_many: Callable[..., list[Any]] | None = None
    order: int = 100  # place in the type menu

    @property
    def add_only(self) -> bool:
        return self.update is None

    def field(self, name: str) -> ImportField | None:
        return next((spec for spec in self.fields if spec.name == name), None)


_types: dict[str, ImportType] = {}


def register(import_type: ImportType) -> None:
    for key in import_type.keys:
        spec = import_type.field(key)
        if spec is None or spec.normalize is None:
            raise ValueError(f"{import_type.object_type}: key {key!r} needs a normalizing field")
    _types[import_type.object_type] = import_type


def get(object_type: str) -> ImportType | None:
    return _types.get(object_type)


def types() -> list[ImportType]:
    """Every importable type, in menu order."""
    return sorted(_types.values(), key=lambda item: (item.order, item.object_type))
