"""Forms of the lead pages. They shape input (choices, people, pools); the lead services
validate and say what is wrong, beside the field."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rapport.core.forms import TablerForm
from rapport.customers.forms import lookup_label, lookup_widget, parse_record_id
from rapport.customers.models import Account, Contact
from rapport.identity import policy, system
from rapport.identity.models import Action, Team, User

from .models.leads import AssignmentMethod, Lead, LeadFollowUp, LeadPool, LeadRating, LeadSource

LEAD = Lead.security_type
YES_NO = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


def lead_people() -> list[User]:
    """Active people who work on leads (for owner pickers), system actors left out."""
    people = (
        User.objects.filter(is_active=True)
        .exclude(username__in=system.usernames())
        .filter(
            Q(is_superuser=True)
            | Q(roles__grants__object_type=LEAD, roles__grants__action=Action.CHANGE)
        )
        .distinct()
        .order_by("display_name", "username")
    )
    return list(people)


def _people_choices(blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((str(person.pk), str(person)) for person in lead_people())]


def _pool_choices(blank: str) -> list[tuple[str, str]]:
    pools = LeadPool.objects.filter(is_active=True)
    return [("", blank), *((str(pool.pk), pool.display_name) for pool in pools)]


class LeadForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=LeadSource.choices, initial="manual")
    source_detail = forms.CharField(label=_("Source detail"), max_length=200, required=False)
    rating = forms.ChoiceField(
        label=_("Rating"), choices=[("", "—"), *LeadRating.choices], required=False
    )
    industry = forms.CharField(label=_("Industry"), max_length=30, required=False)
    province = forms.CharField(label=_("Province"), max_length=30, required=False)
    city = forms.CharField(label=_("City"), max_length=30, required=False)
    website = forms.CharField(label=_("Website"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)

    SERVICE_FIELDS = (
        "name",
        "company",
        "title",
        "phone",
        "email",
        "source",
        "source_detail",
        "rating",
        "industry",
        "province",
        "city",
        "website",
        "description",
    )

    def __init__(self, *args, user: User, lead: Lead | None = None, **kwargs):
        self.user = user
        self.lead = lead
        initial = dict(kwargs.pop("initial", {}) or {})
        if lead is not None:
            initial.update({name: getattr(lead, name) for name in self.SERVICE_FIELDS})
        super().__init__(*args, initial=initial, **kwargs)
        if lead is not None:
            del self.fields["owner"]
        else:
            choices = [("me", _("Me")), ("rules", _("By the assignment rules"))]
            if policy.has_grant(user, LEAD, Action.ASSIGN):
                choices.append(("pool", _("The pool")))
                choices += [(str(p.pk), str(p)) for p in lead_people() if p.pk != user.pk]
            self.fields["owner"].choices = choices
            self.fields["owner"].initial = "me"
        rules = policy.field_rules(user, LEAD)
        for name, rule in rules.items():
            if (
                name in self.fields
                and rule in ("hidden", "masked", "readonly")
                and lead is not None
            ):
                self.fields[name].disabled = True

    def service_values(self) -> dict:
        values = {
            name: self.cleaned_data.get(name, "")
            for name in self.SERVICE_FIELDS
            if name in self.fields and not self.fields[name].disabled
        }
        if self.lead is not None:
            values = {
                name: value
                for name, value in values.items()
                if str(getattr(self.lead, name) or "") != str(value or "")
            }
        return values

    def owner_arguments(self) -> dict:
        """How the new lead is placed: {"owner": user}, {"owner": None} (pool) or {} (rules)."""
        choice = self.cleaned_data.get("owner") or "me"
        if choice == "me":
            return {"owner": self.user}
        if choice == "rules":
            return {}
        if choice == "pool":
            return {"owner": None}
        person = User.objects.filter(pk=int(choice)).first() if choice.isdigit() else None
        return {"owner": person} if person else {"owner": self.user}


class QualifyForm(TablerForm):
    budget = forms.CharField(label=_("Budget"), max_length=30, required=False)
    is_decision_maker = forms.ChoiceField(label=_("Decision maker"), choices=YES_NO, required=False)
    need = forms.CharField(
        label=_("Need"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    expected_purchase_date = forms.DateField(
        label=_("Expected purchase date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    rating = forms.ChoiceField(
        label=_("Rating"), choices=[("", "—"), *LeadRating.choices], required=False
    )

    def __init__(self, *args, lead: Lead | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if lead is not None:
            initial.update(
                budget=lead.budget if lead.budget is not None else "",
                is_decision_maker={True: "true", False: "false"}.get(lead.is_decision_maker, ""),
                need=lead.need,
                expected_purchase_date=lead.expected_purchase_date,
                rating=lead.rating,
            )
        super().__init__(*args, initial=initial, **kwargs)

    def service_values(self) -> dict:
        values = dict(self.cleaned_data)
        values["is_decision_maker"] = {"true": True, "false": False}.get(
            values.get("is_decision_maker") or ""
        )
        return values


class DisqualifyForm(TablerForm):
    reason = forms.CharField(label=_("Why is it disqualified?"), max_length=300, required=False)


class FollowUpForm(TablerForm):
    kind = forms.ChoiceField(label=_("Type"), choices=LeadFollowUp.Kind.choices, initial="call")
    summary = forms.CharField(
        label=_("What happened?"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)


class AssignForm(TablerForm):
    owner = forms.ChoiceField(label=_("Give to"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _people_choices(str(_("Back to the pool")))

    def chosen_owner(self) -> User | None:
        value = self.cleaned_data.get("owner") or ""
        return User.objects.filter(pk=int(value)).first() if value.isdigit() else None


class ConvertForm(TablerForm):
    account_choice = forms.ChoiceField(label=_("Account"), widget=forms.RadioSelect, required=False)
    account = forms.CharField(
        label=_("Another existing account"),
        required=False,
        widget=lookup_widget("convert-account-options"),
    )
    contact_choice = forms.ChoiceField(label=_("Contact"), widget=forms.RadioSelect, required=False)
    create_opportunity = forms.BooleanField(
        label=_("Create an opportunity"), required=False, initial=True
    )
    opportunity_name = forms.CharField(label=_("Opportunity name"), max_length=200, required=False)
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=18, decimal_places=2
    )

    def __init__(self, *args, user: User, accounts: list, contacts: list, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["account_choice"].choices = [
            ("new", _("Create a new account")),
            *((str(a.pk), lookup_label(a)) for a in accounts),
        ]
        self.fields["account_choice"].initial = str(accounts[0].pk) if accounts else "new"
        self.fields["contact_choice"].choices = [
            ("new", _("Create a new contact")),
            *((str(c.pk), lookup_label(c)) for c in contacts),
        ]
        self.fields["contact_choice"].initial = str(contacts[0].pk) if contacts else "new"

    def _visible(self, model, pk):
        return model.objects.restrict(self.user, Action.VIEW).filter(pk=pk).first()

    def service_values(self) -> dict:
        data = self.cleaned_data
        account = None
        typed = parse_record_id(data.get("account") or "")
        if typed is not None:
            account = self._visible(Account, typed)
            if account is None:
                self.add_error("account", _("Choose an account you can see."))
        elif (data.get("account_choice") or "new") != "new":
            account = self._visible(Account, int(data["account_choice"]))
        contact = None
        if (data.get("contact_choice") or "new") != "new":
            contact = self._visible(Contact, int(data["contact_choice"]))
        return {
            "account": account,
            "contact": contact,
            "create_opportunity": bool(data.get("create_opportunity")),
            "opportunity_name": data.get("opportunity_name") or "",
            "amount": data.get("amount"),
        }


class PoolForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    team = forms.ChoiceField(
        label=_("Team"),
        required=False,
        help_text=_("Only its members claim from the pool; without a team, everyone does."),
    )
    max_held = forms.IntegerField(
        label=_("Most open leads a rep may hold"), required=False, min_value=1
    )
    claims_per_day = forms.IntegerField(
        label=_("Most claims per rep per day"), required=False, min_value=1
    )
    return_after_days = forms.IntegerField(
        label=_("Back to the pool after days without follow-up"), required=False, min_value=1
    )
    is_default = forms.BooleanField(label=_("Default pool"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    FIELDS = (
        "name",
        "name_en",
        "max_held",
        "claims_per_day",
        "return_after_days",
        "is_default",
        "is_active",
    )

    def __init__(self, *args, pool: LeadPool | None = None, **kwargs):
        initial = dict(kwargs.pop("initial", {}) or {})
        if pool is not None:
            initial.update({name: getattr(pool, name) for name in self.FIELDS})
            initial["team"] = str(pool.team_id or "")
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["team"].choices = [
            ("", _("No team: everyone")),
            *((str(t.pk), t.name) for t in Team.objects.order_by("name")),
        ]

    def service_values(self) -> dict:
        values = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        team = self.cleaned_data.get("team") or ""
        values["team"] = Team.objects.filter(pk=int(team)).first() if team.isdigit() else None
        return values


class RuleForm(TablerForm):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    name_en = forms.CharField(label=_("English name"), max_length=100, required=False)
    position = forms.IntegerField(label=_("Position"), required=False, min_value=0, initial=0)
    condition = forms.CharField(
        label=_("Condition"),
        required=False,
        help_text=_(
            'In the filter language, e.g. province = "广东省" and source = web_form. '
            "Empty: every lead."
        ),
    )
    method = forms.ChoiceField(label=_("Assignment"), choices=AssignmentMethod.choices)
    team = forms.ChoiceField(label=_("Team"), required=False)
    user = forms.ChoiceField(label=_("Person"), required=False)
    pool = forms.ChoiceField(label=_("Pool"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, rule=None, **kwargs):
        from rapport.core import filterlang

        initial = dict(kwargs.pop("initial", {}) or {})
        if rule is not None:
            initial.update(
                name=rule.name,
                name_en=rule.name_en,
                position=rule.position,
                condition=filterlang.to_text(rule.condition) if rule.condition else "",
                method=rule.method,
                team=str(rule.team_id or ""),
                user=str(rule.user_id or ""),
                pool=str(rule.pool_id or ""),
                is_active=rule.is_active,
            )
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["team"].choices = [
            ("", "—"),
            *((str(t.pk), t.name) for t in Team.objects.order_by("name")),
        ]
        self.fields["user"].choices = _people_choices("—")
        self.fields["pool"].choices = _pool_choices(str(_("The default pool")))

    def service_values(self) -> dict:
        data = self.cleaned_data

        def pick(model, value):
            return model.objects.filter(pk=int(value)).first() if (value or "").isdigit() else None

        return {
            "name": data.get("name") or "",
            "name_en": data.get("name_en") or "",
            "position": data.get("position") or 0,
            "condition": data.get("condition") or "",
            "method": data.get("method"),
            "team": pick(Team, data.get("team")),
            "user": pick(User, data.get("user")),
            "pool": pick(LeadPool, data.get("pool")),
            "is_active": bool(data.get("is_active")),
        }
