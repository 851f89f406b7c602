"""REST API of the catalogue: products and variants, categories, tax rates, price lists
with their items, and the price lookup. Everyone with `view` on `sales.product` reads;
writes need `manage` and go through `rapport.sales.services.catalogue` (validated, audited).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from rapport.core import search
from rapport.core.api import CursorPagination, StrictInputSerializer, error_responses, parse
from rapport.core.errors import NotFound
from rapport.customers.models import Account
from rapport.identity import policy
from rapport.identity.api import GenericViewSet, GrantPermission, IdFilter
from rapport.identity.models import Action

from .models import PriceList, PriceListItem, Product, ProductCategory, TaxRate
from .models.common import MONEY, PERCENT, QUANTITY
from .prices import find_price
from .services import catalogue as catalogue_services

PRODUCT = Product.security_type


def _pk(value) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < pk < 2**63:
        raise NotFound()
    return pk


class ObjectField(serializers.PrimaryKeyRelatedField):
    """A related record by id, from an unrestricted catalogue table."""


# --- categories ------------------------------------------------------------------------------


class ProductCategoryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    path = serializers.CharField(read_only=True)
    depth = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class ProductCategoryInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    parent = ObjectField(queryset=ProductCategory.objects.all(), required=False, allow_null=True)
    position = serializers.IntegerField(required=False)
    is_active = serializers.BooleanField(required=False)


class ProductCategoryCreateSerializer(ProductCategoryInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class TreePagination(CursorPagination):
    ordering = ("path", "id")
    page_size = 200


@extend_schema_view(
    list=extend_schema(
        responses={200: ProductCategoryOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: ProductCategoryOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ProductCategoryViewSet(GenericViewSet):
    """Product categories: a tree in path order."""

    object_type = PRODUCT
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = ProductCategoryOutputSerializer
    queryset = ProductCategory.objects.none()
    pagination_class = TreePagination

    def get_object(self) -> ProductCategory:
        category = ProductCategory.objects.filter(pk=_pk(self.kwargs["pk"])).first()
        if category is None:
            raise NotFound()
        return category

    def list(self, request):
        page = self.paginate_queryset(ProductCategory.objects.all())
        return self.get_paginated_response(ProductCategoryOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ProductCategoryOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=ProductCategoryCreateSerializer,
        responses={201: ProductCategoryOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(ProductCategoryCreateSerializer, request)
        values.pop("is_active", None)
        category = catalogue_services.category_create(actor=request.user, **values)
        return Response(
            ProductCategoryOutputSerializer(category).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=ProductCategoryInputSerializer,
        responses={
            200: ProductCategoryOutputSerializer,
            **error_responses(400, 401, 403, 404, 415),
        },
        description="Rename, move (never below itself), reorder, retire.",
    )
    def partial_update(self, request, pk=None):
        values = parse(ProductCategoryInputSerializer, request, partial=True)
        category = catalogue_services.category_update(
            actor=request.user, category=self.get_object(), **values
        )
        return Response(ProductCategoryOutputSerializer(category).data)


# --- tax rates -------------------------------------------------------------------------------


class TaxRateOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    rate = serializers.DecimalField(**PERCENT, read_only=True)
    is_default = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class TaxRateInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    rate = serializers.CharField(required=False, max_length=20, help_text="percent, 0–100")
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class TaxRateCreateSerializer(TaxRateInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)
    rate = serializers.CharField(max_length=20, help_text="percent, 0–100")


class ByIdPagination(CursorPagination):
    ordering = ("id",)
    page_size = 100


@extend_schema_view(
    list=extend_schema(responses={200: TaxRateOutputSerializer, **error_responses(400, 401, 403)}),
    retrieve=extend_schema(
        responses={200: TaxRateOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class TaxRateViewSet(GenericViewSet):
    """VAT rates (13 %, 9 %, 6 %, 0 % installed); one is the default for new products."""

    object_type = PRODUCT
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
    }
    serializer_class = TaxRateOutputSerializer
    queryset = TaxRate.objects.none()
    pagination_class = ByIdPagination

    def get_object(self) -> TaxRate:
        tax_rate = TaxRate.objects.filter(pk=_pk(self.kwargs["pk"])).first()
        if tax_rate is None:
            raise NotFound()
        return tax_rate

    def list(self, request):
        page = self.paginate_queryset(TaxRate.objects.all())
        return self.get_paginated_response(TaxRateOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(TaxRateOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=TaxRateCreateSerializer,
        responses={201: TaxRateOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(TaxRateCreateSerializer, request)
        values.pop("is_active", None)
        tax_rate = catalogue_services.tax_rate_create(actor=request.user, **values)
        return Response(TaxRateOutputSerializer(tax_rate).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=TaxRateInputSerializer,
        responses={200: TaxRateOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(TaxRateInputSerializer, request, partial=True)
        tax_rate = catalogue_services.tax_rate_update(
            actor=request.user, tax_rate=self.get_object(), **values
        )
        return Response(TaxRateOutputSerializer(tax_rate).data)


# --- products --------------------------------------------------------------------------------


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class ProductOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    variant_attributes = serializers.DictField(child=serializers.CharField(), read_only=True)
    unit = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    list_price = serializers.DecimalField(**MONEY, read_only=True)
    currency = serializers.CharField(read_only=True)
    tax_rate = serializers.IntegerField(source="tax_rate_id", read_only=True, allow_null=True)
    tax_percent = serializers.DecimalField(
        source="tax_rate.rate", **PERCENT, read_only=True, allow_null=True
    )
    track_inventory = serializers.BooleanField(read_only=True)
    allow_backorder = serializers.BooleanField(read_only=True)
    low_stock_threshold = serializers.DecimalField(**QUANTITY, read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class ProductInputSerializer(StrictInputSerializer):
    sku = serializers.CharField(required=False, allow_blank=True, max_length=100)
    name = serializers.CharField(required=False, allow_blank=True, max_length=300)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=300)
    category = ObjectField(queryset=ProductCategory.objects.all(), required=False, allow_null=True)
    parent = ObjectField(queryset=Product.objects.all(), required=False, allow_null=True)
    variant_attributes = serializers.DictField(
        child=serializers.CharField(max_length=100), required=False
    )
    unit = serializers.CharField(required=False, allow_blank=True, max_length=40)
    description = serializers.CharField(required=False, allow_blank=True)
    list_price = serializers.CharField(required=False, max_length=30)
    currency = serializers.CharField(required=False, max_length=10)
    tax_rate = ObjectField(queryset=TaxRate.objects.all(), required=False, allow_null=True)
    track_inventory = serializers.BooleanField(required=False)
    allow_backorder = serializers.BooleanField(required=False)
    low_stock_threshold = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=30
    )
    is_active = serializers.BooleanField(required=False)


class ProductCreateSerializer(ProductInputSerializer):
    sku = serializers.CharField(allow_blank=True, max_length=100)
    name = serializers.CharField(allow_blank=True, max_length=300)


def _search_products(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    return search.filter_queryset(queryset, value, also=Q(sku__istartswith=value))


def _in_category(queryset, name, value):
    category = ProductCategory.objects.filter(pk=value).first() if value else None
    if value and category is None:
        return queryset.none()
    if category is None:
        return queryset
    return queryset.filter(category__path__startswith=category.path)


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method=_search_products, label=gettext_lazy("Search SKU, name or pinyin")
    )
    category = IdFilter(method=_in_category, label=gettext_lazy("In this category or below"))
    parent = IdFilter(field_name="parent_id")
    variants = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", exclude=True, label=gettext_lazy("Variants")
    )
    is_active = django_filters.BooleanFilter()
    track_inventory = django_filters.BooleanFilter()
    currency = django_filters.CharFilter()

    class Meta:
        model = Product
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        responses={200: ProductOutputSerializer, **error_responses(400, 401, 403)},
        description="Products and variants by SKU. `?q=` finds SKU, name or pinyin; "
        "`?category=` includes the categories below.",
    ),
    retrieve=extend_schema(
        responses={200: ProductOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class ProductViewSet(GenericViewSet):
    """The products sold: goods that track stock and services that do not."""

    object_type = PRODUCT
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "destroy": Action.MANAGE,
    }
    serializer_class = ProductOutputSerializer
    filterset_class = ProductFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["sku", "name", "list_price", "id"]
    ordering = ["sku"]

    def get_queryset(self):
        return Product.objects.restrict(self.request.user, Action.VIEW).select_related("tax_rate")

    def get_object(self) -> Product:
        product = self.get_queryset().filter(pk=_pk(self.kwargs["pk"])).first()
        if product is None:
            raise NotFound()
        return product

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(ProductOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=ProductCreateSerializer,
        responses={201: ProductOutputSerializer, **error_responses(400, 401, 403, 415)},
        description="A product, or a variant of `parent`. The tax rate defaults to the "
        "default rate.",
    )
    def create(self, request):
        values = parse(ProductCreateSerializer, request)
        is_active = values.pop("is_active", True)
        product = catalogue_services.product_create(actor=request.user, **values)
        if not is_active:
            product = catalogue_services.product_update(
                actor=request.user, product=product, is_active=False
            )
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ProductInputSerializer,
        responses={200: ProductOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(ProductInputSerializer, request, partial=True)
        product = catalogue_services.product_update(
            actor=request.user, product=self.get_object(), **values
        )
        return Response(ProductOutputSerializer(product).data)

    @extend_schema(
        responses={
            200: ProductOutputSerializer,
            204: None,
            **error_responses(401, 403, 404),
        },
        description="Deletes a product nobody used (204); a used one is deactivated and "
        "returned (200).",
    )
    def destroy(self, request, pk=None):
        product = self.get_object()
        outcome = catalogue_services.product_delete(actor=request.user, product=product)
        if outcome == "deleted":
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(ProductOutputSerializer(Product.objects.get(pk=product.pk)).data)


# --- price lists -----------------------------------------------------------------------------


class PriceListItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    product = ProductRefSerializer(read_only=True)
    min_quantity = serializers.DecimalField(**QUANTITY, read_only=True)
    unit_price = serializers.DecimalField(**MONEY, read_only=True)


class PriceListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    name_en = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    tier = serializers.CharField(read_only=True)
    province = serializers.CharField(read_only=True)
    valid_from = serializers.DateField(read_only=True, allow_null=True)
    valid_until = serializers.DateField(read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True)


class PriceListInputSerializer(StrictInputSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    name_en = serializers.CharField(required=False, allow_blank=True, max_length=200)
    currency = serializers.CharField(required=False, max_length=10)
    tier = serializers.CharField(required=False, allow_blank=True, max_length=40)
    province = serializers.CharField(required=False, allow_blank=True, max_length=60)
    valid_from = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    valid_until = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PriceListCreateSerializer(PriceListInputSerializer):
    name = serializers.CharField(allow_blank=True, max_length=200)


class PriceListItemInputSerializer(StrictInputSerializer):
    product = ObjectField(queryset=Product.objects.all())
    unit_price = serializers.CharField(max_length=30)
    min_quantity = serializers.CharField(required=False, max_length=30)


@extend_schema_view(
    list=extend_schema(
        responses={200: PriceListOutputSerializer, **error_responses(400, 401, 403)}
    ),
    retrieve=extend_schema(
        responses={200: PriceListOutputSerializer, **error_responses(401, 403, 404)}
    ),
)
class PriceListViewSet(GenericViewSet):
    """Price lists per customer tier, province and currency, valid between two dates; two
    active lists for the same customers may not be in force on the same day."""

    object_type = PRODUCT
    permission_classes = [GrantPermission]
    grant_actions = {
        "list": Action.VIEW,
        "retrieve": Action.VIEW,
        "create": Action.MANAGE,
        "partial_update": Action.MANAGE,
        "items": Action.VIEW,
        "item_set": Action.MANAGE,
        "item_delete": Action.MANAGE,
    }
    serializer_class = PriceListOutputSerializer
    queryset = PriceList.objects.none()
    pagination_class = ByIdPagination

    def get_object(self) -> PriceList:
        price_list = PriceList.objects.filter(pk=_pk(self.kwargs["pk"])).first()
        if price_list is None:
            raise NotFound()
        return price_list

    def list(self, request):
        page = self.paginate_queryset(PriceList.objects.all())
        return self.get_paginated_response(PriceListOutputSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(PriceListOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=PriceListCreateSerializer,
        responses={201: PriceListOutputSerializer, **error_responses(400, 401, 403, 415)},
    )
    def create(self, request):
        values = parse(PriceListCreateSerializer, request)
        price_list = catalogue_services.price_list_create(actor=request.user, **values)
        return Response(PriceListOutputSerializer(price_list).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PriceListInputSerializer,
        responses={200: PriceListOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def partial_update(self, request, pk=None):
        values = parse(PriceListInputSerializer, request, partial=True)
        price_list = catalogue_services.price_list_update(
            actor=request.user, price_list=self.get_object(), **values
        )
        return Response(PriceListOutputSerializer(price_list).data)

    @extend_schema(
        responses={200: PriceListItemOutputSerializer(many=True), **error_responses(401, 403, 404)},
        description="The list's prices by product and minimum quantity.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def items(self, request, pk=None):
        price_list = self.get_object()
        rows = price_list.items.select_related("product").order_by("product__sku", "min_quantity")
        return Response(PriceListItemOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=PriceListItemInputSerializer,
        responses={200: PriceListItemOutputSerializer, **error_responses(400, 401, 403, 404, 415)},
        description="Set the price of a product from a minimum quantity (1 if not given).",
    )
    @items.mapping.post
    def item_set(self, request, pk=None):
        price_list = self.get_object()
        values = parse(PriceListItemInputSerializer, request)
        item = catalogue_services.price_list_item_set(
            actor=request.user, price_list=price_list, **values
        )
        return Response(PriceListItemOutputSerializer(item).data)

    @extend_schema(
        responses={204: None, **error_responses(401, 403, 404)},
        parameters=[OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path="items/<int:item_id>",
        url_name="item-delete",
    )
    def item_delete(self, request, pk=None, item_id=None):
        price_list = self.get_object()
        item = PriceListItem.objects.filter(price_list=price_list, pk=_pk(item_id)).first()
        if item is None:
            raise NotFound()
        catalogue_services.price_list_item_delete(actor=request.user, item=item)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- price lookup ----------------------------------------------------------------------------


class PriceLookupQuerySerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    account = serializers.IntegerField(min_value=1, required=False)
    quantity = serializers.DecimalField(**QUANTITY, required=False, min_value=0)
    currency = serializers.CharField(required=False, max_length=3, min_length=3)
    on = serializers.DateField(required=False)


class PriceLookupOutputSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    account = serializers.IntegerField(allow_null=True)
    quantity = serializers.DecimalField(**QUANTITY)
    currency = serializers.CharField()
    on = serializers.DateField()
    unit_price = serializers.DecimalField(**MONEY, allow_null=True)


class PriceLookupView(APIView):
    """What a product costs a customer (the price a quote line gets by default): one
    answer, not a list (a viewset's `list` is documented as an array)."""

    object_type = PRODUCT
    permission_classes = [GrantPermission]

    @extend_schema(
        parameters=[PriceLookupQuerySerializer],
        responses={200: PriceLookupOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="The unit price of `quantity` (1) of `product` for `account` in "
        "`currency` (CNY) on `on` (today): the most specific price list in force, else the "
        "list price; `unit_price` is null when neither gives a price in that currency.",
    )
    def get(self, request):
        query = PriceLookupQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        product = (
            Product.objects.restrict(request.user, Action.VIEW).filter(pk=values["product"]).first()
        )
        if product is None:
            raise NotFound(gettext("No such product."))
        account = None
        if values.get("account"):
            account = policy.get_for(request.user, Action.VIEW, Account, values["account"])
        on = values.get("on") or timezone.localdate()
        currency = values.get("currency", "CNY").upper()
        quantity = values.get("quantity") or 1
        price = find_price(
            product=product, account=account, quantity=quantity, currency=currency, on=on
        )
        return Response(
            PriceLookupOutputSerializer(
                {
                    "product": product.pk,
                    "account": account.pk if account else None,
                    "quantity": quantity,
                    "currency": currency,
                    "on": on,
                    "unit_price": price,
                }
            ).data
        )
