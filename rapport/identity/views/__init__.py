"""Identity pages: own profile and tokens, administration of users, departments, teams, roles
and account requests. Views parse and render; every write goes through `services`."""

from ._common import ROLE, USER, can_request_accounts
from .account_requests import request_decide, request_list
from .custom_fields import custom_field_edit, custom_field_list, custom_field_set_active
from .lockout import lockout_response
from .me import profile, token_revoke, tokens
from .organisation import department_edit, department_list, team_detail, team_list
from .roles import role_detail, role_list
from .tags import tag_deactivate, tag_edit, tag_list, tag_reactivate
from .users import (
    USER_EDIT_FIELDS,
    user_create,
    user_deactivate,
    user_detail,
    user_end_sessions,
    user_list,
    user_offboard,
    user_reactivate,
    user_unlock,
)

__all__ = [
    "custom_field_edit",
    "custom_field_list",
    "custom_field_set_active",
    "USER",
    "ROLE",
    "can_request_accounts",
    "lockout_response",
    "profile",
    "tokens",
    "token_revoke",
    "user_list",
    "user_create",
    "USER_EDIT_FIELDS",
    "user_detail",
    "user_unlock",
    "user_deactivate",
    "user_end_sessions",
    "user_reactivate",
    "user_offboard",
    "department_list",
    "department_edit",
    "team_list",
    "team_detail",
    "role_list",
    "role_detail",
    "request_list",
    "request_decide",
    "tag_list",
    "tag_edit",
    "tag_deactivate",
    "tag_reactivate",
]
