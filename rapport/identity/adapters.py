from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by administrators (or approved requests); nobody signs up."""

    def is_open_for_signup(self, request) -> bool:
        return False
