"""`rapport tier list|add|update|move|retire|restore`: the configured account tiers."""

from django.utils.translation import gettext_lazy

from rapport.customers.option_command import OptionCommand


class Command(OptionCommand):
    help = gettext_lazy("Account tiers: list, add, relabel, reorder, retire, restore.")
    field = "tier"
