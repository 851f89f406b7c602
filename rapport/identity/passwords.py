from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class PasswordHistoryValidator:
    """Refuse any of the user's last N passwords."""

    def __init__(self, remember: int = 5):
        self.remember = remember

    def validate(self, password, user=None):
        if user is None or not getattr(user, "pk", None):
            return
        from .models import PasswordHistory

        for old in PasswordHistory.objects.filter(user_id=user.pk).values_list(
            "password", flat=True
        )[: self.remember]:
            if check_password(password, old):
                raise ValidationError(
                    ngettext(
                        "This password was used recently; choose one you have not used in your last %(n)d password.",
                        "This password was used recently; choose one you have not used in your last %(n)d passwords.",
                        self.remember,
                    )
                    % {"n": self.remember},
                    code="password_reused",
                )

    def get_help_text(self):
        return _("Your password cannot be one of your recent passwords.")
