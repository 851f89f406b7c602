"""`rapport stage list|add|update|move|retire|restore`: the configured lifecycle stages."""

from django.utils.translation import gettext_lazy

from rapport.customers.option_command import OptionCommand


class Command(OptionCommand):
    help = gettext_lazy("Lifecycle stages: list, add, relabel, reorder, retire, restore.")
    field = "lifecycle_stage"
