"""`rapport tag list|create|apply`: the tag tree and bulk tagging, thin over the services.

`apply` reads the records through `restrict(view)` like the web and the API, and the service
stores nothing when the acting user may not change one of them.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.core.commands import CliCommand, ServiceCall, format_table
from rapport.core.tags import registry
from rapport.core.tags import services as tag_services
from rapport.core.tags.models import Colour, Tag
from rapport.core.tags.selectors import tag_tree
from rapport.identity.commands import add_actor_argument, resolve_actor
from rapport.identity.models import Action


def get_tag(pk: int, field: str = "tag") -> Tag:
    tag = Tag.objects.filter(pk=pk).first()
    if tag is None:
        raise CommandError(_("%(field)s: No tag with id %(id)d.") % {"field": field, "id": pk})
    return tag


def parse_ids(text: str) -> list[int]:
    """ "3,5 8" -> [3, 5, 8]; anything but whole numbers is an error naming --ids."""
    parts = [part for part in text.replace(",", " ").split() if part]
    if not parts or not all(part.isdigit() and len(part) <= 18 for part in parts):
        raise CommandError(_("ids: Give record ids as whole numbers, e.g. 12,15,31."))
    return list(dict.fromkeys(int(part) for part in parts))


class Command(CliCommand):
    help = gettext_lazy("Tags: list the tree, create a tag, put a tag on records or take it off.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{list,create,apply}"
        )
        listing = commands.add_parser("list", help=gettext_lazy("List the tag tree."))
        listing.add_argument(
            "--all", action="store_true", help=gettext_lazy("Include deactivated tags.")
        )
        add_actor_argument(listing)

        create = commands.add_parser("create", help=gettext_lazy("Create a tag."))
        create.add_argument("name", help=gettext_lazy("The tag's name."))
        create.add_argument("--name-en", default="", help=gettext_lazy("English name."))
        create.add_argument(
            "--colour",
            default=Colour.BLUE,
            help=gettext_lazy("Colour, one of: %(colours)s.")
            % {"colours": ", ".join(Colour.values)},
        )
        create.add_argument("--parent", type=int, help=gettext_lazy("Id of the parent tag."))
        add_actor_argument(create)

        apply = commands.add_parser(
            "apply", help=gettext_lazy("Put a tag on records (or take it off with --remove).")
        )
        apply.add_argument("tag", type=int, help=gettext_lazy("Tag id."))
        apply.add_argument(
            "--type",
            required=True,
            dest="record_type",
            help=gettext_lazy("Type of the records, e.g. customers.account or customers.contact."),
        )
        apply.add_argument(
            "--ids", required=True, help=gettext_lazy("Record ids, separated by commas.")
        )
        apply.add_argument(
            "--remove", action="store_true", help=gettext_lazy("Take the tag off instead.")
        )
        add_actor_argument(apply)

    def handle(self, *args, **options):
        actor = resolve_actor(options["acting_as"])
        getattr(self, f"do_{options['subcommand']}")(actor, options)

    def do_list(self, actor, options) -> None:
        tags = Tag.objects.all() if options["all"] else Tag.objects.filter(is_active=True)
        rows = [
            [
                node.tag.pk,
                f"{'  ' * node.depth}{node.tag.name}",
                node.tag.name_en,
                node.tag.colour,
                _("yes") if node.tag.is_active else _("no"),
            ]
            for node in tag_tree(tags)
        ]
        headers = ["id", _("name"), _("English name"), _("colour"), _("active")]
        self.stdout.write(format_table(headers, rows))

    def do_create(self, actor, options) -> None:
        parent = get_tag(options["parent"], "parent") if options["parent"] is not None else None
        with ServiceCall(actor):
            tag = tag_services.tag_create(
                actor=actor,
                name=options["name"],
                name_en=options["name_en"],
                colour=options["colour"],
                parent=parent,
            )
        self.stdout.write(_("Created tag %(id)d: %(name)s") % {"id": tag.pk, "name": tag.name})

    def do_apply(self, actor, options) -> None:
        tag = get_tag(options["tag"])
        model = registry.taggable_model(options["record_type"])
        if model is None:
            raise CommandError(
                _("type: “%(type)s” cannot carry tags; use one of: %(types)s.")
                % {"type": options["record_type"], "types": ", ".join(registry.taggable_models())}
            )
        ids = parse_ids(options["ids"])
        found = {
            record.pk: record
            for record in model._default_manager.restrict(actor, Action.VIEW).filter(pk__in=ids)
        }
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise CommandError(
                _("ids: No record with id %(ids)s that you can see.") % {"ids": ", ".join(missing)}
            )
        service = tag_services.records_untag if options["remove"] else tag_services.records_tag
        with ServiceCall(actor):
            changed = service(actor=actor, records=[found[pk] for pk in ids], tags=[tag])
        if options["remove"]:
            message = _("Removed tag “%(tag)s” from %(count)d of %(total)d records.")
        else:
            message = _("Added tag “%(tag)s” to %(count)d of %(total)d records.")
        self.stdout.write(message % {"tag": tag.name, "count": len(changed), "total": len(ids)})
