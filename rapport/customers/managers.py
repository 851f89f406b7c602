"""The interaction QuerySet: who may see an interaction follows who may see its customer.

Kept apart from `querysets.py` (which imports the models) so `models.py` can use it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q

from rapport.identity.querysets import RestrictedQuerySet


class InteractionQuerySet(RestrictedQuerySet):
    def restrict(self, user, action: str = "view") -> InteractionQuerySet:
        """Interactions `user` may `action`.

        Viewing is "controlled by parent": an interaction is visible to whoever may see its
        account or its contact (checked per row with a correlated EXISTS, so a timeline page
        costs an index lookup per row, not a scan of every visible account), plus the
        interactions the user's own grants on interactions cover and the tasks given to them.
        Changing and deleting follow the grants on interactions only (owner scope); the
        assignee of a task may change it too (to mark it done or move its due date).
        """
        from rapport.identity.policy import restriction_q

        from .models import Account, Contact

        own = restriction_q(user, self.model, action)
        if own is None and not getattr(user, "is_authenticated", False):
            return self.none()
        if getattr(user, "is_superuser", False) and user.is_active:
            return self.all()
        if not getattr(user, "is_active", False):
            return self.none()
        condition = own if own is not None else Q(pk__in=[])
        if action == "view":
            visible_account = Account.objects.restrict(user, "view").filter(
                pk=OuterRef("account_id")
            )
            visible_contact = Contact.objects.restrict(user, "view").filter(
                pk=OuterRef("contact_id")
            )
            condition = (
                condition
                | Q(Exists(visible_account))
                | Q(Exists(visible_contact))
                | Q(assignee=user.pk)
            )
        elif action == "change":
            condition = condition | Q(assignee=user.pk)
        return self.filter(condition)

    def of_customer(self, user, *, account=None, contact=None) -> InteractionQuerySet:
        """The interactions of one account or contact, as `user` may see them.

        Seeing is controlled by the parent, so when the user may see the customer, every
        interaction on it is visible and the list is a plain index walk on
        (account|contact, occurred_at) instead of the general per-row visibility check.
        When they may not see it, nothing.
        """
        from rapport.identity.policy import can

        customer = account if account is not None else contact
        if customer is None or not can(user, "view", customer):
            return self.none()
        return self.filter(account=account) if account is not None else self.filter(contact=contact)

    def assigned_to(self, user) -> InteractionQuerySet:
        """Tasks given to `user`: always visible to them (see `restrict`), so no per-row
        check is needed; the partial index on (assignee, due_at) serves it."""
        if not getattr(user, "is_active", False):
            return self.none()
        return self.filter(assignee=user.pk)

    def tasks(self) -> InteractionQuerySet:
        return self.filter(kind="task", is_active=True)

    def open_tasks(self) -> InteractionQuerySet:
        return self.tasks().filter(done_at__isnull=True)

    def logged(self) -> InteractionQuerySet:
        """What happened (everything but tasks), for the timeline."""
        return self.filter(is_active=True).exclude(kind="task")


InteractionManager = models.Manager.from_queryset(InteractionQuerySet)
