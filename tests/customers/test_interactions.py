"""Interactions and tasks through their services: what is stored, who may see and change it,
what is audited, and that bad input names the field and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from rapport.audit.models import AuditEvent
from rapport.core import events
from rapport.core.errors import PermissionDenied
from rapport.customers import services
from rapport.customers.models import AccountContact, Interaction
from rapport.identity.models import Action

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    """An account of rep_sh (Shanghai office, under East) with one contact."""
    rep = org["rep_sh"]
    account = services.account_create(actor=rep, name="中国银行上海分行")
    contact = services.contact_create(actor=rep, name="张伟", accounts=[account])
    return account, contact


def fields_of(error: ValidationError) -> set[str]:
    return set(error.value.message_dict)


def test_logging_a_call_stores_it_audited_with_a_default_subject(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    with translation.override("en"):  # the subject is written in the actor's language
        call = services.interaction_log(
            actor=rep,
            kind="call",
            account=account,
            contact=contact,
            direction="outbound",
            outcome="connected",
            duration_minutes="12",
            body="谈了续约",
        )
    assert call.subject == "Call with 张伟"
    assert call.owner == rep and call.duration_minutes == 12
    event = AuditEvent.objects.get(object_type="customers.interaction", object_id=str(call.pk))
    assert event.action == "create" and event.actor == rep
    assert event.changes["outcome"] == [None, "connected"]


def test_a_follow_up_task_is_created_with_the_interaction(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    due = timezone.now() + timedelta(days=3)
    call = services.interaction_log(
        actor=rep, kind="meeting", account=account, next_step="发报价单", follow_up_due=due
    )
    task = Interaction.objects.get(follow_up_of=call)
    assert task.kind == "task" and task.subject == "发报价单"
    assert task.assignee == rep and task.due_at == due and task.account == account


def test_a_follow_up_without_a_next_step_stores_neither(org, customer):
    account, _contact = customer
    with pytest.raises(ValidationError) as error:
        services.interaction_log(
            actor=org["rep_sh"],
            kind="call",
            account=account,
            follow_up_due=timezone.now() + timedelta(days=1),
        )
    assert fields_of(error) == {"next_step"}
    assert not Interaction.objects.exists()


def test_every_bad_field_is_named_and_nothing_is_stored(org, customer):
    account, _contact = customer
    with pytest.raises(ValidationError) as error:
        services.interaction_log(
            actor=org["rep_sh"],
            kind="note",
            account=account,
            direction="inbound",  # a note has no direction
            duration_minutes="forever",
            occurred_at="31/02/2026 25:00",
        )
    assert fields_of(error) == {"direction", "duration_minutes", "occurred_at"}
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("kind", "outcome", "ok"),
    [("call", "no_answer", True), ("email", "bounced", True), ("call", "held", False)],
)
def test_outcomes_must_fit_the_kind(org, customer, kind, outcome, ok):
    account, _contact = customer
    if ok:
        services.interaction_log(actor=org["rep_sh"], kind=kind, account=account, outcome=outcome)
        assert Interaction.objects.get().outcome == outcome
    else:
        with pytest.raises(ValidationError) as error:
            services.interaction_log(
                actor=org["rep_sh"], kind=kind, account=account, outcome=outcome
            )
        assert fields_of(error) == {"outcome"}


def test_a_logged_interaction_cannot_be_in_the_future(org, customer):
    account, _contact = customer
    with pytest.raises(ValidationError) as error:
        services.interaction_log(
            actor=org["rep_sh"],
            kind="visit",
            account=account,
            occurred_at=timezone.now() + timedelta(days=2),
        )
    assert fields_of(error) == {"occurred_at"}


def test_an_interaction_needs_a_customer_and_a_known_kind(org):
    with pytest.raises(ValidationError) as error:
        services.interaction_log(actor=org["rep_sh"], kind="call")
    assert fields_of(error) == {"account"}
    with pytest.raises(ValidationError) as error:
        services.interaction_log(actor=org["rep_sh"], kind="telepathy")
    assert fields_of(error) == {"kind"}


def test_a_customer_the_actor_cannot_see_is_refused(org, customer):
    account, contact = customer
    with pytest.raises(ValidationError) as error:
        services.interaction_log(actor=org["rep_south"], kind="call", account=account)
    assert fields_of(error) == {"account"}
    with pytest.raises(ValidationError) as error:
        services.task_create(actor=org["rep_south"], subject="偷看", contact=contact)
    assert fields_of(error) == {"contact"}
    assert not Interaction.objects.exists()


def test_a_role_without_the_add_grant_cannot_log(org, customer):
    account, _contact = customer
    with pytest.raises(PermissionDenied):
        services.interaction_log(actor=org["auditor"], kind="note", account=account)


def test_seeing_interactions_follows_seeing_their_customer(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    call = services.interaction_log(actor=rep, kind="call", account=account)
    note = services.interaction_log(actor=rep, kind="note", contact=contact)

    def visible(user):
        return set(Interaction.objects.restrict(user, Action.VIEW).values_list("pk", flat=True))

    assert visible(rep) == {call.pk, note.pk}
    assert visible(org["sales_manager"]) == {call.pk, note.pk}  # East covers Shanghai
    assert visible(org["auditor"]) == {call.pk, note.pk}
    assert visible(org["rep_south"]) == set()
    assert visible(org["rep_east"]) == set()  # a peer rep sees neither the account nor these


def test_the_assignee_of_a_task_sees_and_completes_it(org, customer):
    account, _contact = customer
    rep, peer = org["rep_sh"], org["rep_south"]
    task = services.task_create(actor=rep, subject="回访", account=account, assignee=peer)
    assert Interaction.objects.restrict(peer, Action.VIEW).filter(pk=task.pk).exists()
    services.task_complete(actor=peer, task=task)
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == peer
    assert task.occurred_at == task.done_at
    # The assignee still may not see the account itself.
    assert not account.__class__.objects.restrict(peer, Action.VIEW).filter(pk=account.pk).exists()


def test_someone_else_cannot_complete_a_task(org, customer):
    account, _contact = customer
    task = services.task_create(actor=org["rep_sh"], subject="回访", account=account)
    with pytest.raises(PermissionDenied):
        services.task_complete(actor=org["rep_east"], task=task)
    task.refresh_from_db()
    assert task.done_at is None


def test_complete_and_reopen_are_audited(org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    task = services.task_create(actor=rep, subject="寄样品", account=account)
    services.task_complete(actor=rep, task=task)
    services.task_reopen(actor=rep, task=task)
    actions = list(
        AuditEvent.objects.filter(object_id=str(task.pk), object_type="customers.interaction")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "complete", "reopen"]
    task.refresh_from_db()
    assert task.done_at is None and task.done_by is None


def test_update_changes_fields_with_before_and_after(org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    call = services.interaction_log(actor=rep, kind="call", account=account, outcome="busy")
    services.interaction_update(actor=rep, interaction=call, outcome="connected", body="回电成功")
    event = AuditEvent.objects.filter(object_id=str(call.pk), action="update").get()
    assert event.changes["outcome"] == ["busy", "connected"]
    with pytest.raises(ValidationError) as error:
        services.interaction_update(actor=rep, interaction=call, due_at=timezone.now())
    assert fields_of(error) == {"due_at"}


def test_removing_needs_the_delete_grant(org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    note = services.interaction_log(actor=rep, kind="note", account=account)
    with pytest.raises(PermissionDenied):
        services.interaction_delete(actor=org["cm"], interaction=note)  # cm: delete own only
    services.interaction_delete(actor=rep, interaction=note)
    note.refresh_from_db()
    assert not note.is_active


def test_reminders_are_sent_once_and_only_when_due(
    org, customer, django_capture_on_commit_callbacks
):
    account, _contact = customer
    rep = org["rep_sh"]
    now = timezone.now()
    due = services.task_create(
        actor=rep, subject="打电话", account=account, remind_at=now - timedelta(minutes=1)
    )
    services.task_create(
        actor=rep, subject="以后", account=account, remind_at=now + timedelta(hours=1)
    )
    done = services.task_create(
        actor=rep, subject="已完成", account=account, remind_at=now - timedelta(minutes=5)
    )
    services.task_complete(actor=rep, task=done)
    received = []

    def listener(topic, payload):
        received.append(payload)

    events.subscribe("task.reminder_due", listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.task_reminders_send(now=now) == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.task_reminders_send(now=now) == 0  # never twice
    finally:
        events.unsubscribe("task.reminder_due", listener)
    assert [(p["id"], p["assignee"], p["subject"]) for p in received] == [
        (due.pk, rep.pk, "打电话")
    ]
    due.refresh_from_db()
    assert due.reminded_at == now


def test_moving_a_reminder_sends_it_again(org, customer):
    account, _contact = customer
    rep = org["rep_sh"]
    now = timezone.now()
    task = services.task_create(
        actor=rep, subject="续约", account=account, remind_at=now - timedelta(minutes=1)
    )
    assert services.task_reminders_send(now=now) == 1
    services.interaction_update(actor=rep, interaction=task, remind_at=now + timedelta(minutes=5))
    assert services.task_reminders_send(now=now + timedelta(minutes=10)) == 1


def test_a_contact_role_at_an_account_is_set_and_audited(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    services.contact_role_set(actor=rep, contact=contact, account=account, role="decision_maker")
    assert AccountContact.objects.get(contact=contact, account=account).role == "decision_maker"
    event = AuditEvent.objects.filter(object_id=str(contact.pk), action="update").latest("seq")
    assert event.changes == {"account_role": ["", "decision_maker"]}
    with pytest.raises(ValidationError) as error:
        services.contact_role_set(actor=rep, contact=contact, account=account, role="boss")
    assert fields_of(error) == {"role"}
    other = services.account_create(actor=rep, name="另一家")
    with pytest.raises(ValidationError) as error:
        services.contact_role_set(actor=rep, contact=contact, account=other, role="user")
    assert fields_of(error) == {"account"}


def test_linking_accounts_keeps_roles_of_links_that_stay(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    services.contact_role_set(actor=rep, contact=contact, account=account, role="influencer")
    other = services.account_create(actor=rep, name="第二家")
    services.contact_update(actor=rep, contact=contact, accounts=[account, other])
    roles = dict(AccountContact.objects.filter(contact=contact).values_list("account_id", "role"))
    assert roles == {account.pk: "influencer", other.pk: ""}


def test_the_fast_paths_give_what_restrict_gives(org, customer):
    account, contact = customer
    rep = org["rep_sh"]
    services.interaction_log(actor=rep, kind="call", account=account)
    services.interaction_log(actor=rep, kind="note", contact=contact)
    services.task_create(actor=rep, subject="给同事", account=account, assignee=org["rep_south"])
    for user in (rep, org["sales_manager"], org["rep_south"], org["auditor"]):
        restricted = Interaction.objects.restrict(user, Action.VIEW)
        for customer_filter in ({"account": account}, {"contact": contact}):
            fast = set(
                Interaction.objects.of_customer(user, **customer_filter).values_list(
                    "pk", flat=True
                )
            )
            assert fast <= set(restricted.values_list("pk", flat=True)), user
            if not account.__class__.objects.restrict(user, Action.VIEW).filter(pk=account.pk):
                assert fast == set()
        mine = set(Interaction.objects.assigned_to(user).values_list("pk", flat=True))
        assert mine <= set(restricted.values_list("pk", flat=True))
    assert Interaction.objects.assigned_to(org["rep_south"]).count() == 1
    assert not Interaction.objects.of_customer(org["rep_south"], account=account).exists()
