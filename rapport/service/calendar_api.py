"""REST API of business calendars: everyone signed in reads them and asks when working time
runs out (`due`); changing them needs `manage` on `service.calendar`."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.identity.api import GenericViewSet, GrantPermission
from rapport.identity.models import Action

from . import calendars
from .models import BusinessCalendar
from .services import calendars as calendar_services

WEEKDAY_HELP = "Working hours per day: {'mon': '09:00-12:00, 13:30-18:00', …, 'sun': ''}."


@extend_schema_field(
    {
        "type": "object",
        "properties": {day: {"type": "string"} for day in calendar_services.WEEKDAYS},
        "additionalProperties": False,
    }
)
class WeeklyHoursField(serializers.Field):
    """{"mon": "09:00-12:00, 13:30-18:00", …}: text per weekday, empty for a closed day."""

    def to_representation(self, value):
        return {
            day: calendars.format_hours(tuple(tuple(pair) for pair in hours))
            for day, hours in zip(calendar_services.WEEKDAYS, value, strict=True)
        }

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("Give the hours of each day, Monday to Sunday."))
        return data


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField(source="day", read_only=True)
    hours = serializers.SerializerMethodField(help_text="Empty: closed that day.")
    note = serializers.CharField(read_only=True)

    def get_hours(self, row) -> str:
        return calendars.format_hours(tuple(tuple(pair) for pair in row.hours))


class CalendarOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True, help_text="In the request's language.")
    time_zone = serializers.CharField(read_only=True)
    weekly_hours = WeeklyHoursField(read_only=True, help_text=WEEKDAY_HELP)
    public_holidays = serializers.BooleanField(
        read_only=True, help_text="China's public holidays and make-up workdays apply."
    )
    is_default = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    days = CalendarDaySerializer(many=True, read_only=True, help_text="Dated exceptions.")
    unknown_years = serializers.SerializerMethodField(
        help_text="This year and next, when their public holidays are not published yet: "
        "enter them as dated exceptions."
    )

    def get_unknown_years(self, calendar) -> list[int]:
        year = timezone.localdate().year
        return calendar.schedule().unknown_years(range(year, year + 2))


class CalendarCreateSerializer(StrictInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    time_zone = serializers.CharField(required=False, max_length=60)
    weekly_hours = WeeklyHoursField(help_text=WEEKDAY_HELP)
    public_holidays = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)


class CalendarUpdateSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    time_zone = serializers.CharField(required=False, max_length=60)
    weekly_hours = WeeklyHoursField(required=False, help_text=WEEKDAY_HELP)
    public_holidays = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class CalendarDayInputSerializer(StrictInputSerializer):
    date = serializers.DateField()
    hours = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Empty: closed that day."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class DueOutputSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    minutes = serializers.IntegerField()
    due = serializers.DateTimeField()


class CalendarPagination(CursorPagination):
    ordering = ("-is_default", "name", "id")
    page_size = 100


@extend_schema_view(
    list=extend_schema(responses={200: CalendarOutputSerializer, **error_responses(400, 401)}),
    retrieve=extend_schema(responses={200: CalendarOutputSerializer, **error_responses(401, 404)}),
)
class BusinessCalendarViewSet(GenericViewSet):
    """Business calendars: working hours, China's holidays, dated exceptions."""

    object_type = BusinessCalendar.security_type
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": None,
        "retrieve": None,
        "due": None,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "day_set": Action.MANAGE,
        "day_remove": Action.MANAGE,
    }
    serializer_class = CalendarOutputSerializer
    pagination_class = CalendarPagination

    def get_queryset(self):
        return BusinessCalendar.objects.prefetch_related("days").order_by(
            "-is_default", "name", "id"
        )

    def get_object(self) -> BusinessCalendar:
        # Calendars have no owner or scope: the type-wide grant is the whole rule.
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (BusinessCalendar.DoesNotExist, ValueError, TypeError):
            raise NotFound() from None

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(CalendarOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(CalendarOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=CalendarCreateSerializer,
        responses={201: CalendarOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(CalendarCreateSerializer, request)
        calendar = calendar_services.calendar_create(actor=request.user, **values)
        calendar = self.get_queryset().get(pk=calendar.pk)
        return Response(CalendarOutputSerializer(calendar).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CalendarUpdateSerializer,
        responses={200: CalendarOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Change what is given; is_default=true takes the default from the "
        "previous calendar. The default calendar cannot be retired (400).",
    )
    def partial_update(self, request, pk=None):
        calendar = self.get_object()
        values = parse(CalendarUpdateSerializer, request, partial=True)
        calendar_services.calendar_update(actor=request.user, calendar=calendar, **values)
        return Response(CalendarOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=CalendarDayInputSerializer,
        responses={200: CalendarOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Set the calendar's own rule for a date (replacing an earlier one): "
        "closed when hours is empty, else open with those hours.",
    )
    @action(detail=True, methods=["post"], url_path="days")
    def day_set(self, request, pk=None):
        calendar = self.get_object()
        values = parse(CalendarDayInputSerializer, request)
        calendar_services.calendar_day_set(
            actor=request.user,
            calendar=calendar,
            day=values["date"],
            hours=values.get("hours", ""),
            note=values.get("note", ""),
        )
        return Response(CalendarOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={204: None, **error_responses(401, 403, 404)},
        description="Remove the calendar's own rule for the date (YYYY-MM-DD).",
    )
    @action(detail=True, methods=["delete"], url_path="days/<str:day>")
    def day_remove(self, request, pk=None, day=None):
        calendar = self.get_object()
        try:
            removed = calendar_services.calendar_day_remove(
                actor=request.user, calendar=calendar, day=date.fromisoformat(day)
            )
        except ValueError:
            raise NotFound() from None
        if not removed:
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATETIME, description="Default: now."),
            OpenApiParameter(
                "minutes", OpenApiTypes.INT, required=True, description="Working minutes."
            ),
        ],
        responses={200: DueOutputSerializer, **error_responses(400, 401, 404)},
        description="When `minutes` of working time after `start` run out on this calendar.",
    )
    @action(detail=True, methods=["get"])
    def due(self, request, pk=None):
        calendar = self.get_object()
        errors = {}
        start = timezone.now()
        if request.query_params.get("start"):
            parsed = serializers.DateTimeField().to_internal_value
            try:
                start = parsed(request.query_params["start"])
            except serializers.ValidationError as error:
                errors["start"] = error.detail
        try:
            minutes = int(request.query_params.get("minutes", ""))
            if not 0 <= minutes <= 60 * 24 * 366:
                raise ValueError
        except ValueError:
            errors["minutes"] = [_("Enter a whole number of minutes from 0 to 527040.")]
        if errors:
            raise ValidationError(errors)
        try:
            due = calendar.schedule().add(start, timedelta(minutes=minutes))
        except calendars.NoWorkingTime:
            raise ValidationError(
                {"minutes": [_("This calendar has no working time within a year.")]}
            ) from None
        return Response(DueOutputSerializer({"start": start, "minutes": minutes, "due": due}).data)
