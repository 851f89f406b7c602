"""Webhooks: incoming (a rule started by a POST to its secret URL) and outgoing (the
`call_webhook` action's delivery, with its checks against server-side request forgery).

Incoming: `POST /api/v1/automation/hooks/<token>/` with `{"id": 7}` or `{"find": {"credit_code":
"…"}}` starts the webhook rule whose token it is for that record. The token is the
permission (`HookTokenPermission`): only its SHA-256 is stored, compared in constant time; a
bad token or a rule that is off answers 404. An `Idempotency-Key` header (or
`idempotency_key` in the body) makes a repeated call return the run it started before.

Outgoing: a URL is accepted only with http(s), a host name and no credentials, and only if
every address the host resolves to is public; it is checked when the rule is saved and again
when delivering (the name may resolve elsewhere by then: DNS rebinding), and the request is
sent to the address that was checked. Redirects are not followed.
"""

from __future__ import annotations

import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.views import APIView

from rapport.core import filterlang
from rapport.core.api import StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound

from . import actor as system_actor
from . import registry, triggers
from .models import Rule, Trigger

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Rapport-CRM-Webhook/1"


# --- incoming ------------------------------------------------------------------------------


def rule_for_token(token: str) -> Rule | None:
    """The active webhook rule whose token this is, or None."""
    from .services import webhook_token_hash

    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    digest = webhook_token_hash(token)
    rule = Rule.objects.filter(
        trigger=Trigger.WEBHOOK,
        is_active=True,
        retired_at__isnull=True,
        trigger_config__token_hash=digest,
    ).first()
    if rule is None:
        return None
    stored = str((rule.trigger_config or {}).get("token_hash") or "")
    return rule if hmac.compare_digest(stored.encode(), digest.encode()) else None


class HookTokenPermission(permissions.BasePermission):
    """The secret token in the URL is the permission: no user signs in. A bad token, or the
    token of a rule that is off or deleted, is answered as not found."""

    def has_permission(self, request, view) -> bool:
        rule = rule_for_token(view.kwargs.get("token", ""))
        if rule is None:
            raise NotFound()
        request.hook_rule = rule
        return True


class HookThrottle(throttling.SimpleRateThrottle):
    """At most `rate` calls per minute per webhook token."""

    rate = "120/min"

    def get_cache_key(self, request, view) -> str:
        from .services import webhook_token_hash

        token = str(view.kwargs.get("token", ""))
        return f"rapport:automation:hook:{webhook_token_hash(token)[:32]}"


class HookAddressThrottle(throttling.SimpleRateThrottle):
    """At most `rate` webhook calls per minute from one address, whatever the token (so
    guessing tokens is slow too)."""

    rate = "600/min"

    def get_cache_key(self, request, view) -> str:
        return f"rapport:automation:hook-ip:{self.get_ident(request)}"


class HookInputSerializer(StrictInputSerializer):
    id = serializers.IntegerField(required=False, help_text="The record to start the rule for.")
    find = serializers.DictField(
        required=False,
        help_text='Or fields that find exactly one record, e.g. {"credit_code": "9131…"}.',
    )
    idempotency_key = serializers.CharField(
        required=False,
        max_length=150,
        help_text="A repeated key returns the run started the first time "
        "(the Idempotency-Key header does the same).",
    )
    data = serializers.JSONField(
        required=False, help_text="Anything else the caller wants kept in the run log."
    )


class HookOutputSerializer(serializers.Serializer):
    run = serializers.IntegerField(allow_null=True, help_text="The run started (null: none).")
    state = serializers.CharField(help_text="The run's state, or not_matched.")
    duplicate = serializers.BooleanField(help_text="The idempotency key was seen before.")


def _find_record(rule: Rule, values: dict[str, Any]) -> int:
    """The id of the one record of the rule's type the request names (404 / 400 otherwise)."""
    automatable = registry.get(rule.object_type)
    if automatable is None:
        raise NotFound()
    actor = system_actor.get()
    queryset = automatable.restrict(actor)
    if "id" in values:
        ids = list(queryset.filter(pk=values["id"]).values_list("pk", flat=True)[:1])
    elif values.get("find"):
        find = values["find"]
        fields = filterlang.fields_for(actor, rule.object_type)
        tree = {
            "and": [{"field": str(name), "op": "=", "value": value} for name, value in find.items()]
        }
        try:
            queryset = filterlang.apply(queryset, tree, fields)
        except ValidationError as error:
            raise ValidationError({"find": error.messages}) from None
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:2])
        if len(ids) > 1:
            raise ValidationError(
                {"find": [_("Several records match; name one by its id.")]}, code="ambiguous"
            )
    else:
        raise ValidationError({"id": [_("Give the record's id, or fields that find it.")]})
    if not ids:
        raise NotFound(_("No record matches."))
    return ids[0]


class HookView(APIView):
    """Start a webhook rule for one record."""

    authentication_classes: list = []
    permission_classes = [HookTokenPermission]  # the token in the URL is the permission
    throttle_classes = [HookAddressThrottle, HookThrottle]

    def check_permissions(self, request) -> None:
        super().check_throttles(request)  # before the token is looked up: bad ones count
        super().check_permissions(request)

    def check_throttles(self, request) -> None:
        """Done in `check_permissions`, before the token is checked."""

    @extend_schema(
        operation_id="automation_hook_fire",
        request=HookInputSerializer,
        parameters=[
            OpenApiParameter(
                "token", str, OpenApiParameter.PATH, description="The rule's secret token."
            ),
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="A repeated key returns the run started the first time.",
            ),
        ],
        responses={
            202: HookOutputSerializer,
            200: HookOutputSerializer,
            **error_responses(400, 404, 415),
        },
        auth=[],
        description="Start the webhook rule whose token this is for the record named by id "
        "or by fields. 202 when a run starts, 200 when the key was seen before or the record "
        "does not match the rule's condition.",
    )
    def post(self, request, token: str):
        rule: Rule = request.hook_rule
        values = parse(HookInputSerializer, request)
        record_id = _find_record(rule, values)
        key = str(request.headers.get("Idempotency-Key") or values.get("idempotency_key") or "")
        detail: dict[str, Any] = {}
        if key:
            detail["key"] = key[:150]
        if values.get("data") is not None:
            text = json.dumps(values["data"], ensure_ascii=False)
            detail["data"] = values["data"] if len(text) <= 2000 else text[:2000]
        run, new = triggers.webhook_fire(
            rule, record_id, idempotency_key=key[:150], request_detail=detail
        )
        body = {
            "run": run.pk if run else None,
            "state": run.state if run else "not_matched",
            "duplicate": not new,
        }
        created = run is not None and new
        return Response(body, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


# --- outgoing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query


def _refused(message: str) -> ValidationError:
    return ValidationError(message, code="unsafe_url")


def is_public(address: str) -> bool:
    """Whether an IP address is one the public internet routes (not private, loopback,
    link-local, multicast, reserved, unspecified or shared; IPv4-mapped IPv6 unwrapped)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse_target(url: Any) -> Target:
    """The URL's parts if it is an http(s) URL to a named or numbered host without
    credentials (ValidationError otherwise). Says nothing yet about where the host is."""
    text = str(url or "").strip()
    if not text or len(text) > 2000:
        raise _refused(_("Give the URL to call, e.g. https://example.com/hooks/crm."))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _refused(
            _("Only http:// and https:// addresses can be called (not “%(scheme)s”).")
            % {"scheme": parts.scheme or text}
        )
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise _refused(_("The port of this address is not valid.")) from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refused(_("The address has no host."))
    if parts.username or parts.password:
        raise _refused(_("Put no user name or password in the address."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=host, port=port, path=path)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (DNS; mocked in tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: Any) -> tuple[Target, str]:
    """The target and the public address to connect to, or a ValidationError saying why
    the URL may not be called (wrong scheme, or a host that is — or resolves to — a
    private, loopback, link-local or reserved address)."""
    target = parse_target(url)
    try:
        addresses = [str(ipaddress.ip_address(target.host))]
    except ValueError:
        if target.host.lower() == "localhost" or target.host.lower().endswith(".localhost"):
            addresses = ["127.0.0.1"]
        else:
            try:
                addresses = resolve(target.host, target.port)
            except (OSError, UnicodeError):
                raise _refused(
                    _("The host “%(host)s” cannot be found.") % {"host": target.host}
                ) from None
    if not addresses:
        raise _refused(_("The host “%(host)s” cannot be found.") % {"host": target.host})
    for address in addresses:
        if not is_public(address):
            raise _refused(
                _(
                    "“%(host)s” is a private, local or reserved address (%(address)s); only "
                    "public addresses can be called."
                )
                % {"host": target.host, "address": address}
            )
    return target, addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the URL's host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def send(target: Target, address: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to the checked address (the Host header and TLS name stay the URL's).
    Returns the HTTP status; raises OSError / http.client errors on failure. Mocked in tests."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(address, target.host, target.port, TIMEOUT_SECONDS)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        connection.close()


class DeliveryFailed(Exception):
    """The webhook could not be delivered now; the outbox relay tries again."""


def deliver(url: str, payload: dict[str, Any], *, key: str) -> int:
    """Check the URL again (DNS rebinding) and POST the payload. Returns the HTTP status
    (2xx); raises ValidationError for a URL that may not be called (never retried) and
    DeliveryFailed for anything worth retrying."""
    target, address = check_url(url)
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": key,
    }
    try:
        code = send(target, address, body, headers)
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
    if not 200 <= code < 300:
        raise DeliveryFailed(f"HTTP {code}")
    return code


MAX_DELIVERY_ATTEMPTS = 5  # the first and 4 retries
BACKOFF_SECONDS = 30  # 30 s, 1, 2, 4 minutes between attempts
FINAL = ("delivered", "refused", "failed")


def backoff(attempt: int) -> int:
    return BACKOFF_SECONDS * 2 ** (attempt - 1)


def relay(payload: dict[str, Any], key: str) -> None:
    """The outbox relay hands a `call_webhook` message to the delivery task (which retries
    with backoff). If the broker cannot take it, this raises and the relay tries again."""
    from . import tasks

    tasks.deliver_webhook.delay(payload, key)


def deliver_and_note(payload: dict[str, Any], key: str, *, attempt: int) -> str:
    """Deliver one message and note the outcome in the run's results. Raises DeliveryFailed
    when another attempt should follow; a refused URL is never retried, and a message whose
    outcome is already final is not sent again."""
    if _final(payload, key):
        return "done"
    url = str(payload.get("url") or "")
    try:
        code = deliver(url, payload.get("body") or {}, key=key)
    except ValidationError as error:
        _note(payload, {"status": "refused", "error": " ".join(error.messages)}, attempt)
        return "refused"
    except DeliveryFailed as error:
        if attempt >= MAX_DELIVERY_ATTEMPTS:
            _note(payload, {"status": "failed", "error": str(error)}, attempt)
            return "failed"
        _note(payload, {"status": "retrying", "error": str(error)}, attempt)
        raise
    _note(payload, {"status": "delivered", "http_status": code}, attempt)
    return "delivered"


def _final(payload: dict[str, Any], key: str) -> bool:
    from .models import RuleRun

    run = RuleRun.objects.filter(pk=payload.get("run")).only("results").first()
    index = payload.get("index")
    if run is None or not isinstance(index, int) or index >= len(run.results or []):
        return False
    delivery = run.results[index].get("delivery") or {}
    return delivery.get("message") == key and delivery.get("status") in FINAL


def _note(payload: dict[str, Any], outcome: dict[str, Any], attempts: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from .models import RuleRun

    index = payload.get("index")
    with transaction.atomic():
        run = RuleRun.objects.select_for_update().filter(pk=payload.get("run")).first()
        if run is None or not isinstance(index, int) or index >= len(run.results or []):
            return
        results = list(run.results)
        results[index] = {
            **results[index],
            "delivery": {
                **(results[index].get("delivery") or {}),
                **outcome,
                "attempts": attempts,
                "at": timezone.now().isoformat(),
            },
        }
        run.results = results
        run.save(update_fields=["results"])
    if outcome["status"] != "delivered":
        logger.warning("webhook of run %s: %s", payload.get("run"), outcome)
