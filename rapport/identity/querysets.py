"""The base QuerySet every secured model uses: `restrict(user, action)` in SQL."""

from __future__ import annotations

from django.db import models


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view") -> RestrictedQuerySet:
        """Only the records `user` may `action`: role grants, scope, conditions and shares."""
        from .policy import restriction_q

        condition = restriction_q(user, self.model, action)
        if condition is None:
            return self.none()
        return self.filter(condition)


RestrictedManager = models.Manager.from_queryset(RestrictedQuerySet)
