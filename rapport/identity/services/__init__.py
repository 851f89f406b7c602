"""Every write to users, departments, teams, roles, grants, shares, tokens and requests."""

from .account_requests import account_request_create, account_request_decide
from .organisation import department_create, department_update, team_create, team_set_members
from .roles import (
    field_rule_set,
    grant_set,
    role_create,
    role_set_field_rules,
    role_set_matrix,
    role_update,
    roles_sync_builtin,
)
from .saved_views import (
    saved_view_create,
    saved_view_delete,
    saved_view_update,
    saved_views_for,
)
from .sessions import session_end, sessions_end_all, sessions_of
from .shares import record_share, record_unshare
from .tokens import TOKEN_PREFIX, hash_token, token_create, token_revoke
from .users import (
    USER_FIELDS,
    owned_models,
    user_create,
    user_deactivate,
    user_is_locked,
    user_offboard,
    user_reactivate,
    user_set_password,
    user_set_roles,
    user_unlock,
    user_update,
)

__all__ = [
    "saved_view_create",
    "saved_view_delete",
    "saved_view_update",
    "saved_views_for",
    "USER_FIELDS",
    "user_create",
    "user_update",
    "user_set_roles",
    "user_set_password",
    "user_deactivate",
    "user_reactivate",
    "owned_models",
    "user_offboard",
    "user_unlock",
    "session_end",
    "sessions_end_all",
    "sessions_of",
    "user_is_locked",
    "department_create",
    "department_update",
    "team_create",
    "team_set_members",
    "role_create",
    "role_update",
    "grant_set",
    "role_set_matrix",
    "field_rule_set",
    "role_set_field_rules",
    "roles_sync_builtin",
    "record_share",
    "record_unshare",
    "TOKEN_PREFIX",
    "hash_token",
    "token_create",
    "token_revoke",
    "account_request_create",
    "account_request_decide",
]
