"""Every write to warehouses and stock.

Stock levels change only here, each change under a row lock on the levels it touches
(locked in one order — warehouse, then product — so two writers never wait on each other in
a circle) and together with a movement that records the signed quantity and what is on hand
after it. On hand never goes below zero and reserved never above on hand, except for
products that may be ordered beyond the stock (back-orders, per product or for the whole
company in the sales settings).

Orders: the order services call `stock_reserve_order` (confirmation), `stock_release_order`
(cancellation of a confirmed order) and `stock_ship_order` (shipment) inside the order's own
transaction; they have authorized the change to the order, so these check no grant of their
own. Receipts, stock counts and transfers need `change` on `sales.inventory`; warehouses
`manage`. A level falling to or below its product's low-stock threshold alerts the stock
managers once, until it is replenished above the threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import events, trail
from rapport.core.errors import PermissionDenied
from rapport.identity import policy
from rapport.identity.models import Action, User

from ..config import get_settings
from ..models import (
    MovementKind,
    Order,
    OrderLine,
    Product,
    ReservationState,
    StockLevel,
    StockMovement,
    StockReservation,
    Warehouse,
)

SECURITY_TYPE = Warehouse.security_type
ZERO = Decimal(0)
MAX_QUANTITY = Decimal("10000000000")
WAREHOUSE_FIELDS = ("code", "name", "name_en", "address", "is_default", "is_active")
_UNCHANGED: Any = object()


# --- helpers ---------------------------------------------------------------------------------


def quantity_text(value: Decimal) -> str:
    """A quantity as people write it: 5, 2.5 (not 5.000, not 5E+1)."""
    text = f"{Decimal(value).normalize():f}"
    return text


def require_change(actor: User) -> None:
    if not policy.has_grant(actor, SECURITY_TYPE, Action.CHANGE):
        raise PermissionDenied(_("You may not change the stock."), code="stock_change_denied")


def require_manage(actor: User) -> None:
    if not policy.has_grant(actor, SECURITY_TYPE, Action.MANAGE):
        raise PermissionDenied(
            _("You may not configure warehouses."), code="warehouse_manage_denied"
        )


def default_warehouse() -> Warehouse | None:
    return Warehouse.objects.filter(is_default=True, is_active=True).first()


def _backorder_allowed(product: Product, company_allows: bool | None = None) -> bool:
    if product.allow_backorder:
        return True
    if company_allows is None:
        company_allows = get_settings().allow_backorders
    return company_allows


def clean_quantity(
    value: Any, *, name: str, errors: dict[str, list[ValidationError]], allow_zero: bool = False
) -> Decimal | None:
    """A quantity (> 0, or ≥ 0 with `allow_zero`) with at most three decimals, or an error
    against `name`."""
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip()) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        errors.setdefault(name, []).append(ValidationError(_("Enter a number."), code="invalid"))
        return None
    if number < 0 or (number == 0 and not allow_zero) or number > MAX_QUANTITY:
        message = (
            _("The quantity cannot be negative.")
            if allow_zero
            else _("The quantity must be more than zero.")
        )
        errors.setdefault(name, []).append(ValidationError(message, code="out_of_range"))
        return None
    if number != number.quantize(Decimal("0.001")):
        errors.setdefault(name, []).append(
            ValidationError(_("Use at most three decimal places."), code="too_precise")
        )
        return None
    return number


def _locked_levels(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], StockLevel]:
    """The stock levels of (warehouse id, product id) pairs, created when missing, locked
    FOR UPDATE in warehouse-then-product order, with their product and warehouse."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    by_warehouse: dict[int, list[int]] = defaultdict(list)
    for warehouse_id, product_id in wanted:
        by_warehouse[warehouse_id].append(product_id)
    condition = Q()
    for warehouse_id, product_ids in by_warehouse.items():
        condition |= Q(warehouse_id=warehouse_id, product_id__in=product_ids)
    existing = set(StockLevel.objects.filter(condition).values_list("warehouse_id", "product_id"))
    missing = [pair for pair in wanted if pair not in existing]
    if missing:
        # a concurrent writer may create the same row: its insert waits for ours, then
        # does nothing
        StockLevel.objects.bulk_create(
            [StockLevel(warehouse_id=w, product_id=p) for w, p in missing], ignore_conflicts=True
        )
    levels = (
        StockLevel.objects.select_for_update(of=("self",))
        .select_related("product", "warehouse")
        .filter(condition)
        .order_by("warehouse_id", "product_id")
    )
    return {(level.warehouse_id, level.product_id): level for level in levels}


def _stock_managers() -> list[User]:
    return list(
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(roles__grants__object_type=SECURITY_TYPE, roles__grants__action=Action.MANAGE)
        )
        .distinct()
        .order_by("pk")
    )


def _watch_low_stock(levels: Iterable[StockLevel]) -> list[StockLevel]:
    """Mark the levels that fell to or below their product's threshold (not yet alerted)
    and clear the mark of those replenished above it; the caller saves them. Returns the
    levels to alert about."""
    now = timezone.now()
    alerts: list[StockLevel] = []
    for level in levels:
        threshold = level.product.low_stock_threshold
        if threshold is None:
            if level.low_stock_alerted_at is not None:
                level.low_stock_alerted_at = None
            continue
        if level.on_hand <= threshold and level.low_stock_alerted_at is None:
            level.low_stock_alerted_at = now
            alerts.append(level)
        elif level.on_hand > threshold and level.low_stock_alerted_at is not None:
            level.low_stock_alerted_at = None
    return alerts


def _alert_low_stock(levels: list[StockLevel]) -> None:
    if not levels:
        return
    from .. import inventory_notifications

    managers = _stock_managers()
    for level in levels:
        inventory_notifications.low_stock(level=level, recipients=managers)
        events.emit(
            "stock.low",
            {
                "type": "sales.stocklevel",
                "id": level.pk,
                "product": level.product_id,
                "warehouse": level.warehouse_id,
                "on_hand": str(level.on_hand),
                "threshold": str(level.product.low_stock_threshold),
            },
        )


def _save_levels(levels: Iterable[StockLevel]) -> None:
    levels = list(levels)
    alerts = _watch_low_stock(levels)
    for level in levels:
        level.save(update_fields=["on_hand", "reserved", "low_stock_alerted_at", "updated_at"])
    _alert_low_stock(alerts)


def _movement(
    level: StockLevel,
    *,
    kind: str,
    quantity: Decimal,
    actor: User | None,
    order: Order | None = None,
    note: str = "",
) -> StockMovement:
    return StockMovement(
        warehouse_id=level.warehouse_id,
        product_id=level.product_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=level.on_hand,
        order=order,
        note=note[:300],
        created_by=actor if actor is not None and actor.pk else None,
    )


# --- orders ----------------------------------------------------------------------------------


def _order_warehouse(order: Order) -> Warehouse:
    if order.warehouse_id is not None:
        return order.warehouse
    warehouse = default_warehouse()
    if warehouse is None:
        raise ValidationError(
            {
                "warehouse": ValidationError(
                    _("Choose the warehouse the order ships from."), code="required"
                )
            }
        )
    return warehouse


def _tracked_lines(order: Order) -> list[tuple[int, OrderLine]]:
    """(index among all the order's lines, line) for lines of products that track stock."""
    lines = order.lines.select_related("product").order_by("position", "id")
    return [
        (index, line)
        for index, line in enumerate(lines)
        if line.product_id is not None and line.product.track_inventory
    ]


def stock_reserve_order(*, actor: User, order: Order) -> None:
    """Reserve, in the order's warehouse (or the default one), the quantity of every line
    whose product tracks stock. Refuses the whole order — one error per short line on
    `lines.<index>.quantity`, code `insufficient_stock` — when what is available (on hand
    less reserved) is less than wanted, unless back-orders are allowed for the product or
    the company. Lines already reserved are left as they are. Nothing partial is stored."""
    with transaction.atomic():
        warehouse = _order_warehouse(order)
        tracked = _tracked_lines(order)
        already = set(
            StockReservation.objects.filter(
                order_line__order=order, warehouse=warehouse, state=ReservationState.ACTIVE
            ).values_list("order_line_id", flat=True)
        )
        tracked = [(index, line) for index, line in tracked if line.pk not in already]
        if not tracked:
            return
        levels = _locked_levels((warehouse.pk, line.product_id) for _index, line in tracked)
        company_allows = get_settings().allow_backorders
        taken: dict[int, Decimal] = defaultdict(lambda: ZERO)
        errors: dict[str, list[ValidationError]] = {}
        for index, line in tracked:
            level = levels[(warehouse.pk, line.product_id)]
            available = level.on_hand - level.reserved - taken[line.product_id]
            wanted = line.quantity - line.quantity_shipped
            if wanted <= 0:
                continue
            if available < wanted and not _backorder_allowed(line.product, company_allows):
                errors.setdefault(f"lines.{index}.quantity", []).append(
                    ValidationError(
                        _(
                            "Only %(available)s %(unit)s of %(product)s available in "
                            "%(warehouse)s; the line wants %(wanted)s."
                        )
                        % {
                            "available": quantity_text(max(available, ZERO)),
                            "unit": line.unit or line.product.unit,
                            "product": line.product.sku,
                            "warehouse": warehouse.display_name,
                            "wanted": quantity_text(wanted),
                        },
                        code="insufficient_stock",
                    )
                )
            taken[line.product_id] += wanted
        if errors:
            raise ValidationError(errors)
        reservations = []
        for _index, line in tracked:
            wanted = line.quantity - line.quantity_shipped
            if wanted <= 0:
                continue
            reservations.append(
                StockReservation(
                    order_line=line,
                    warehouse=warehouse,
                    product_id=line.product_id,
                    quantity=wanted,
                )
            )
        for product_id, quantity in taken.items():
            levels[(warehouse.pk, product_id)].reserved += quantity
        StockReservation.objects.bulk_create(reservations)
        _save_levels(levels.values())
        trail.record(
            actor=actor,
            action="stock.reserve",
            target=order,
            extra={
                "warehouse": warehouse.code,
                "lines": [
                    {
                        "line": r.order_line_id,
                        "sku": r.order_line.product.sku,
                        "quantity": str(r.quantity),
                    }
                    for r in reservations
                ],
            },
        )


def _active_reservations(order: Order) -> list[StockReservation]:
    return list(
        StockReservation.objects.select_for_update()
        .filter(order_line__order=order, state=ReservationState.ACTIVE)
        .order_by("id")
    )


def stock_release_order(*, actor: User, order: Order) -> None:
    """Give back what the order's active reservations hold (the order was cancelled):
    they become released and the levels' reserved falls by their quantity."""
    with transaction.atomic():
        reservations = _active_reservations(order)
        if not reservations:
            return
        levels = _locked_levels((r.warehouse_id, r.product_id) for r in reservations)
        now = timezone.now()
        for reservation in reservations:
            level = levels[(reservation.warehouse_id, reservation.product_id)]
            level.reserved = max(ZERO, level.reserved - reservation.quantity)
            reservation.state = ReservationState.RELEASED
            reservation.closed_at = now
        StockReservation.objects.bulk_update(reservations, ["state", "closed_at"])
        _save_levels(levels.values())
        trail.record(
            actor=actor,
            action="stock.release",
            target=order,
            extra={
                "reservations": [
                    {"line": r.order_line_id, "quantity": str(r.quantity)} for r in reservations
                ]
            },
        )


def stock_ship_order(*, actor: User, order: Order) -> None:
    """Ship the order's tracked lines: each active reservation becomes shipped and a
    SHIPMENT movement (negative quantity) takes its quantity off hand and off reserved; a
    tracked line left without a reservation ships from the order's warehouse if the stock
    allows it (as when reserving). Every line's `quantity_shipped` becomes its quantity.
    Alerts the stock managers of levels that fall to or below their low-stock threshold."""
    with transaction.atomic():
        reservations = _active_reservations(order)
        reserved_lines = {r.order_line_id for r in reservations}
        tracked = _tracked_lines(order)
        unreserved = [(i, line) for i, line in tracked if line.pk not in reserved_lines]
        unreserved = [(i, line) for i, line in unreserved if line.quantity > line.quantity_shipped]
        warehouse = _order_warehouse(order) if unreserved else None
        pairs = [(r.warehouse_id, r.product_id) for r in reservations]
        if warehouse is not None:
            pairs += [(warehouse.pk, line.product_id) for _i, line in unreserved]
        if not pairs:
            return
        levels = _locked_levels(pairs)
        lines = {line.pk: line for _i, line in tracked}
        company_allows = get_settings().allow_backorders
        now = timezone.now()
        movements: list[StockMovement] = []
        shipped: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for reservation in reservations:
            level = levels[(reservation.warehouse_id, reservation.product_id)]
            level.on_hand -= reservation.quantity
            level.reserved = max(ZERO, level.reserved - reservation.quantity)
            reservation.state = ReservationState.SHIPPED
            reservation.closed_at = now
            shipped[reservation.order_line_id] += reservation.quantity
            movements.append(
                _movement(
                    level,
                    kind=MovementKind.SHIPMENT,
                    quantity=-reservation.quantity,
                    actor=actor,
                    order=order,
                )
            )
        errors: dict[str, list[ValidationError]] = {}
        for index, line in unreserved:
            level = levels[(warehouse.pk, line.product_id)]
            wanted = line.quantity - line.quantity_shipped
            available = level.on_hand - level.reserved
            if available < wanted and not _backorder_allowed(line.product, company_allows):
                errors.setdefault(f"lines.{index}.quantity", []).append(
                    ValidationError(
                        _(
                            "Only %(available)s %(unit)s of %(product)s available in "
                            "%(warehouse)s; the line wants %(wanted)s."
                        )
                        % {
                            "available": quantity_text(max(available, ZERO)),
                            "unit": line.unit or line.product.unit,
                            "product": line.product.sku,
                            "warehouse": warehouse.display_name,
                            "wanted": quantity_text(wanted),
                        },
                        code="insufficient_stock",
                    )
                )
                continue
            level.on_hand -= wanted
            shipped[line.pk] += wanted
            movements.append(
                _movement(
                    level, kind=MovementKind.SHIPMENT, quantity=-wanted, actor=actor, order=order
                )
            )
        if errors:
            raise ValidationError(errors)
        for level in levels.values():
            if level.on_hand < 0 and not _backorder_allowed(level.product, company_allows):
                raise ValidationError(
                    {
                        "lines": ValidationError(
                            _("%(product)s would fall below zero in %(warehouse)s.")
                            % {
                                "product": level.product.sku,
                                "warehouse": level.warehouse.display_name,
                            },
                            code="insufficient_stock",
                        )
                    }
                )
        if reservations:
            StockReservation.objects.bulk_update(reservations, ["state", "closed_at"])
        StockMovement.objects.bulk_create(movements)
        _save_levels(levels.values())
        for line_id, quantity in shipped.items():
            line = lines.get(line_id) or OrderLine.objects.get(pk=line_id)
            line.quantity_shipped = line.quantity_shipped + quantity
            line.save(update_fields=["quantity_shipped"])
        trail.record(
            actor=actor,
            action="stock.ship",
            target=order,
            extra={
                "movements": [
                    {
                        "warehouse": m.warehouse_id,
                        "product": m.product_id,
                        "quantity": str(m.quantity),
                        "on_hand_after": str(m.on_hand_after),
                    }
                    for m in movements
                ]
            },
        )


# --- warehouses ------------------------------------------------------------------------------


def ensure_default_warehouse(sender=None, using: str = "default", **kwargs) -> bool:
    """After `migrate`: the main warehouse (主仓库 / Main warehouse, code `main`) when there
    is no warehouse at all. Returns whether one was created."""
    if Warehouse.objects.using(using).exists():
        return False
    Warehouse.objects.using(using).create(
        code="main", name="主仓库", name_en="Main warehouse", is_default=True
    )
    return True


def _clean_warehouse(warehouse: Warehouse | None, values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}

    def fail(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if "code" in values:
        code = str(values["code"] or "").strip().lower()
        if not code:
            fail("code", _("Enter a code."), "required")
        elif len(code) > 30 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
            fail("code", _("Use at most 30 letters, digits, - and _."), "invalid")
        elif (
            Warehouse.objects.filter(code__iexact=code)
            .exclude(pk=warehouse.pk if warehouse else None)
            .exists()
        ):
            fail("code", _("There is already a warehouse with this code."), "duplicate")
        cleaned["code"] = code
    for name, limit in (("name", 100), ("name_en", 100), ("address", 300)):
        if name in values:
            text = " ".join(str(values[name] or "").split())
            if name == "name" and not text:
                fail(name, _("Enter a name."), "required")
            elif len(text) > limit:
                fail(name, _("At most %(n)d characters.") % {"n": limit}, "max_length")
            cleaned[name] = text
    for flag in ("is_default", "is_active"):
        if flag in values:
            cleaned[flag] = bool(values[flag])
    is_default = cleaned.get("is_default", warehouse.is_default if warehouse else False)
    is_active = cleaned.get("is_active", warehouse.is_active if warehouse else True)
    if is_default and not is_active:
        fail("is_active", _("The default warehouse must be active."), "default_required")
    if warehouse is not None and warehouse.is_default and cleaned.get("is_default") is False:
        fail(
            "is_default",
            _("Make another warehouse the default first: one warehouse is the default."),
            "default_required",
        )
    if (
        warehouse is not None
        and cleaned.get("is_active") is False
        and warehouse.is_active
        and (
            StockLevel.objects.filter(warehouse=warehouse)
            .filter(~Q(on_hand=0) | ~Q(reserved=0))
            .exists()
        )
    ):
        fail(
            "is_active",
            _("The warehouse still holds stock; transfer it out first."),
            "has_stock",
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _take_default_warehouse(actor: User, warehouse: Warehouse) -> None:
    for other in (
        Warehouse.objects.select_for_update().filter(is_default=True).exclude(pk=warehouse.pk)
    ):
        other.is_default = False
        other.save(update_fields=["is_default", "updated_at"])
        trail.record(
            actor=actor, action="update", target=other, changes={"is_default": [True, False]}
        )


def warehouse_create(
    *,
    actor: User,
    code: str,
    name: str,
    name_en: str = "",
    address: str = "",
    is_default: bool = False,
) -> Warehouse:
    """A warehouse; made the default, it takes over from the previous default."""
    require_manage(actor)
    cleaned = _clean_warehouse(
        None,
        {"code": code, "name": name, "name_en": name_en, "address": address, "is_default": False},
    )
    with transaction.atomic():
        warehouse = Warehouse.objects.create(**cleaned)
        if is_default:
            _take_default_warehouse(actor, warehouse)
            warehouse.is_default = True
            warehouse.save(update_fields=["is_default", "updated_at"])
        trail.record(
            actor=actor,
            action="create",
            target=warehouse,
            changes=trail.diff({}, trail.snapshot(warehouse, WAREHOUSE_FIELDS)),
        )
    return warehouse


def warehouse_update(
    *,
    actor: User,
    warehouse: Warehouse,
    code: str = _UNCHANGED,
    name: str = _UNCHANGED,
    name_en: str = _UNCHANGED,
    address: str = _UNCHANGED,
    is_default: bool = _UNCHANGED,
    is_active: bool = _UNCHANGED,
) -> Warehouse:
    """Rename, make the default (one at a time), retire (only when it holds no stock)."""
    require_manage(actor)
    given = {
        key: value
        for key, value in {
            "code": code,
            "name": name,
            "name_en": name_en,
            "address": address,
            "is_default": is_default,
            "is_active": is_active,
        }.items()
        if value is not _UNCHANGED
    }
    with transaction.atomic():
        warehouse = Warehouse.objects.select_for_update().get(pk=warehouse.pk)
        cleaned = _clean_warehouse(warehouse, given)
        before = trail.snapshot(warehouse, WAREHOUSE_FIELDS)
        if cleaned.get("is_default") and not warehouse.is_default:
            _take_default_warehouse(actor, warehouse)
        for key, value in cleaned.items():
            setattr(warehouse, key, value)
        changes = trail.diff(before, trail.snapshot(warehouse, WAREHOUSE_FIELDS))
        if changes:
            warehouse.save()
            trail.record(actor=actor, action="update", target=warehouse, changes=changes)
    return warehouse


# --- receipts, stock counts, transfers --------------------------------------------------------


def _stock_product(product: Any, errors: dict[str, list[ValidationError]]) -> Product | None:
    if not isinstance(product, Product):
        errors.setdefault("product", []).append(
            ValidationError(_("Choose a product from the catalogue."), code="invalid")
        )
        return None
    if not product.track_inventory:
        errors.setdefault("product", []).append(
            ValidationError(
                _("%(product)s does not track stock.") % {"product": product.sku},
                code="untracked",
            )
        )
        return None
    return product


def _stock_warehouse(
    warehouse: Any, field: str, errors: dict[str, list[ValidationError]]
) -> Warehouse | None:
    if not isinstance(warehouse, Warehouse) or not warehouse.is_active:
        errors.setdefault(field, []).append(
            ValidationError(_("Choose an active warehouse."), code="invalid")
        )
        return None
    return warehouse


def _note(value: Any, *, required: bool, errors: dict[str, list[ValidationError]]) -> str:
    note = " ".join(str(value or "").split())
    if required and not note:
        errors.setdefault("note", []).append(
            ValidationError(_("Say why the stock changes."), code="required")
        )
    elif len(note) > 300:
        errors.setdefault("note", []).append(
            ValidationError(_("At most %(n)d characters.") % {"n": 300}, code="max_length")
        )
    return note


def _record_movements(actor: User, action: str, movements: list[StockMovement]) -> None:
    StockMovement.objects.bulk_create(movements)
    for movement in movements:
        trail.record(
            actor=actor,
            action=action,
            target=movement,
            changes={
                "quantity": [None, str(movement.quantity)],
                "on_hand_after": [None, str(movement.on_hand_after)],
            },
            extra={"warehouse": movement.warehouse_id, "product": movement.product_id},
        )


def stock_receive(
    *, actor: User, warehouse: Warehouse, product: Product, quantity, note: str = ""
) -> StockMovement:
    """Goods received into `warehouse`: on hand rises by `quantity` (> 0)."""
    require_change(actor)
    errors: dict[str, list[ValidationError]] = {}
    warehouse = _stock_warehouse(warehouse, "warehouse", errors)
    product = _stock_product(product, errors)
    amount = clean_quantity(quantity, name="quantity", errors=errors)
    note = _note(note, required=False, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        level = _locked_levels([(warehouse.pk, product.pk)])[(warehouse.pk, product.pk)]
        level.on_hand += amount
        movement = _movement(
            level, kind=MovementKind.RECEIPT, quantity=amount, actor=actor, note=note
        )
        _save_levels([level])
        _record_movements(actor, "stock.receive", [movement])
    return movement


def stock_adjust(
    *, actor: User, warehouse: Warehouse, product: Product, counted, note: str
) -> StockMovement | None:
    """A stock count: on hand becomes `counted` (≥ 0), with a movement of the difference and
    its reason (required). Refused below what confirmed orders hold, unless the product
    may be back-ordered. Returns None when the count matches the stock."""
    require_change(actor)
    errors: dict[str, list[ValidationError]] = {}
    warehouse = _stock_warehouse(warehouse, "warehouse", errors)
    product = _stock_product(product, errors)
    amount = clean_quantity(counted, name="counted", errors=errors, allow_zero=True)
    note = _note(note, required=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        level = _locked_levels([(warehouse.pk, product.pk)])[(warehouse.pk, product.pk)]
        if amount < level.reserved and not _backorder_allowed(product):
            raise ValidationError(
                {
                    "counted": ValidationError(
                        _(
                            "Confirmed orders hold %(reserved)s of it here; the count cannot "
                            "be lower."
                        )
                        % {"reserved": quantity_text(level.reserved)},
                        code="below_reserved",
                    )
                }
            )
        difference = amount - level.on_hand
        if difference == 0:
            return None
        level.on_hand = amount
        movement = _movement(
            level, kind=MovementKind.ADJUSTMENT, quantity=difference, actor=actor, note=note
        )
        _save_levels([level])
        _record_movements(actor, "stock.adjust", [movement])
    return movement


def stock_transfer(
    *,
    actor: User,
    product: Product,
    source: Warehouse,
    destination: Warehouse,
    quantity,
    note: str = "",
) -> tuple[StockMovement, StockMovement]:
    """Move `quantity` of `product` from `source` to `destination`: a TRANSFER_OUT and a
    TRANSFER_IN movement in one transaction. Only what is available at the source (on hand
    less reserved) may leave, whatever back-orders allow."""
    require_change(actor)
    errors: dict[str, list[ValidationError]] = {}
    source = _stock_warehouse(source, "source", errors)
    destination = _stock_warehouse(destination, "destination", errors)
    product = _stock_product(product, errors)
    amount = clean_quantity(quantity, name="quantity", errors=errors)
    note = _note(note, required=False, errors=errors)
    if source is not None and destination is not None and source.pk == destination.pk:
        errors.setdefault("destination", []).append(
            ValidationError(_("Choose another warehouse than the source."), code="same")
        )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        levels = _locked_levels([(source.pk, product.pk), (destination.pk, product.pk)])
        out, into = levels[(source.pk, product.pk)], levels[(destination.pk, product.pk)]
        available = out.on_hand - out.reserved
        if available < amount:
            raise ValidationError(
                {
                    "quantity": ValidationError(
                        _("Only %(available)s available in %(warehouse)s.")
                        % {
                            "available": quantity_text(max(available, ZERO)),
                            "warehouse": source.display_name,
                        },
                        code="insufficient_stock",
                    )
                }
            )
        out.on_hand -= amount
        into.on_hand += amount
        leaving = _movement(
            out, kind=MovementKind.TRANSFER_OUT, quantity=-amount, actor=actor, note=note
        )
        arriving = _movement(
            into, kind=MovementKind.TRANSFER_IN, quantity=amount, actor=actor, note=note
        )
        _save_levels([out, into])
        _record_movements(actor, "stock.transfer", [leaving, arriving])
    return leaving, arriving
