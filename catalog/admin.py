"""Backoffice of the catalogue: categories, gifts (photos, voucher pools, import/export), orders
(processing through the state machine, supplier CSV), the service-credit outbox.

Orders are never edited as plain rows: every change goes through the services, which keep the
ledger, the stock and the order's history right. Gifts, categories, photos and voucher codes are
validated and saved by the same services as the REST API's, so both accept and refuse the same.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy, ngettext, ngettext_lazy

from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError, InvalidInput
from loyalty.admin.programme import ServiceForm
from loyalty.selectors.members import VIEW_EVERY_MEMBER, members_visible

from .imports import gift_import, gifts_export_csv, voucher_codes_read
from .models import (
    CatalogSettings,
    Category,
    Gift,
    GiftPhoto,
    Order,
    OrderEvent,
    OrderLine,
    ServicePush,
    VoucherCode,
)
from .selectors import codes_left, gift_stock_left, orders_supplier_csv
from .services import (
    category_create,
    category_update,
    category_validate,
    gift_archive,
    gift_create,
    gift_photo_check,
    gift_photo_delete,
    gift_photo_thumbnail_build,
    gift_update,
    gift_validate,
    order_cancel,
    order_status_set,
    service_pushes_send_again,
    voucher_codes_add,
)

IMPORT_TOKEN = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx|txt)$")


def csv_download(content: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def previews_forget(*, older_than: timedelta = timedelta(days=1)) -> None:
    """Uploaded import previews nobody confirmed are dropped after a day."""
    _, names = default_storage.listdir("catalog-imports")
    for name in names:
        path = f"catalog-imports/{name}"
        if timezone.now() - default_storage.get_modified_time(path) > older_than:
            default_storage.delete(path)


def staff_actor(request: HttpRequest) -> str:
    return f"staff:{request.user.pk}"


@admin.register(CatalogSettings)
class CatalogSettingsAdmin(ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CatalogSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CategoryForm(ServiceForm):
    service_validate = staticmethod(category_validate)

    class Meta:
        model = Category
        fields = ["name", "slug", "position"]

    def _instance_kwarg(self) -> dict:
        return {"category": self.instance if self.instance.pk else None}


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    form = CategoryForm
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=CategoryForm, **kwargs)

    def save_model(self, request: HttpRequest, obj: Category, form, change: bool) -> None:
        data = form._form_data()
        saved = category_update(category_id=obj.pk, data=data) if change else category_create(data=data)
        obj.pk = saved.pk


class GiftPhotoForm(forms.ModelForm):
    class Meta:
        model = GiftPhoto
        fields = ["image", "alt_text", "position"]

    def clean_image(self):
        """A new upload passes the API's photo check and is stored under the name it gives."""
        image = self.cleaned_data["image"]
        if image and "image" in self.changed_data:
            try:
                image.name = gift_photo_check(image=image)
            except InvalidInput as error:
                raise forms.ValidationError(error.message) from None
        return image


class GiftPhotoInline(TabularInline):
    model = GiftPhoto
    form = GiftPhotoForm
    fields = ["image", "preview", "alt_text", "position"]
    readonly_fields = ["preview"]
    extra = 1

    @admin.display(description=gettext_lazy("thumbnail"))
    def preview(self, photo: GiftPhoto) -> str:
        if not photo.pk:
            return "-"
        return format_html('<img src="{}" alt="" height="80">', photo.thumbnail_url)


class GiftImportForm(forms.Form):
    file = forms.FileField(help_text="CSV (comma or semicolon) or XLSX, first row: the column names")
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: check and preview, import nothing"
    )


class VoucherCodesForm(forms.Form):
    codes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}), required=False, help_text="one per line"
    )
    file = forms.FileField(required=False, help_text="or a text/CSV file, one code per line")

    def clean(self):
        """The codes pasted then those of the file, each with where it is (`codes line 2`, `file
        line 5`), read as the API reads a CSV body; `voucher_codes_add` checks them."""
        data = super().clean()
        data["codes_read"] = voucher_codes_read(
            content=(data.get("codes") or "").encode(), source="codes line"
        )
        upload = data.get("file")
        if upload:
            data["codes_read"] += voucher_codes_read(content=upload.read(), source="file line")
        if not data["codes_read"]:
            raise forms.ValidationError("give at least one code")
        return data


class GiftForm(ServiceForm):
    """The gift page: validated by the service the API and the import use (`gift_validate`)."""

    service_validate = staticmethod(gift_validate)

    def _instance_kwarg(self) -> dict:
        # The form's own instance, new or not: the photo formsets are bound to it.
        return {"gift": self.instance}


@admin.register(Gift)
class GiftAdmin(ModelAdmin):
    list_display = [
        "reference",
        "name",
        "kind",
        "category",
        "points_price",
        "stock_display",
        "is_active",
        "is_featured",
        "in_printed_catalogue",
    ]
    list_filter = [
        "kind",
        "category",
        "is_active",
        "is_featured",
        "in_printed_catalogue",
        "vip_only",
        "tiers",
    ]
    search_fields = ["reference", "name"]
    list_select_related = ["category"]
    filter_horizontal = ["tiers"]
    inlines = [GiftPhotoInline]
    form = GiftForm
    readonly_fields = ["archived_at"]
    actions = [
        "export_csv",
        "feature",
        "unfeature",
        "add_to_printed",
        "remove_from_printed",
        "activate",
        "deactivate",
        "archive",
    ]
    fieldsets = [
        (
            None,
            {"fields": ["reference", "name", "description", "category", "position", "kind", "points_price"]},
        ),
        (gettext_lazy("Value"), {"fields": ["retail_value", "retail_currency"]}),
        (
            gettext_lazy("Availability"),
            {
                "fields": [
                    "is_active",
                    "archived_at",
                    "stock",
                    "limit_per_member",
                    "available_from",
                    "available_until",
                    "tiers",
                    "vip_only",
                ]
            },
        ),
        (gettext_lazy("Selections"), {"fields": ["is_featured", "in_printed_catalogue"]}),
        (
            gettext_lazy("Donation"),
            {"fields": ["charity_name", "donation_amount", "donation_currency"], "classes": ["collapse"]},
        ),
        (
            gettext_lazy("Service credit"),
            {"fields": ["service_code", "service_quantity"], "classes": ["collapse"]},
        ),
    ]
    change_list_template = "admin/catalog/gift/change_list.html"
    change_form_template = "admin/catalog/gift/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Gift]:
        return super().get_queryset(request).annotate(codes_left=codes_left())

    @admin.display(description=gettext_lazy("stock"))
    def stock_display(self, gift: Gift) -> str:
        left = gift_stock_left(gift=gift)
        return "unlimited" if left is None else str(left)

    def has_change_permission(self, request: HttpRequest, obj: Gift | None = None) -> bool:
        """An archived gift is read-only (as through the API)."""
        if obj is not None and obj.archived_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Gift, form, change: bool) -> None:
        data = form._form_data()
        obj.pk = (gift_update(gift_id=obj.pk, data=data) if change else gift_create(data=data)).pk

    def save_related(self, request, form, formsets, change):
        """The tiers were saved by the service; the photos are saved here."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not GiftPhoto:
            return super().save_formset(request, form, formset, change)
        photos = formset.save(commit=False)
        for photo in formset.deleted_objects:  # through the service: its files go too
            gift_photo_delete(gift_id=photo.gift_id, photo_id=photo.pk)
        for photo in photos:
            photo.save()
        for photo_form in formset.forms:
            photo = photo_form.instance
            if photo.pk and "image" in photo_form.changed_data and photo not in formset.deleted_objects:
                try:
                    gift_photo_thumbnail_build(photo=photo)
                except DomainError as error:
                    messages.error(request, f"{photo.image.name}: {error.message}")
        return None

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="catalog_gift_import"),
            path("<int:gift_id>/codes/", wrap(self.codes_view), name="catalog_gift_codes"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload, dry-run preview with per-row errors, then import the good rows."""
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            return HttpResponse(status=403)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Import gifts"}
        form = GiftImportForm()
        if request.method == "POST" and request.POST.get("token"):
            token = request.POST["token"]
            name = f"catalog-imports/{token}"
            if not IMPORT_TOKEN.match(token) or not default_storage.exists(name):
                messages.error(request, gettext("That preview has expired: upload the file again."))
                return HttpResponseRedirect(reverse("admin:catalog_gift_import"))
            with default_storage.open(name, "rb") as stored:
                content = stored.read()
            default_storage.delete(name)
            context.update(self._import_run(request, content=content, filename=token, dry_run=False))
        elif request.method == "POST":
            form = GiftImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                content = upload.read()
                dry_run = form.cleaned_data["dry_run"]
                result = self._import_run(request, content=content, filename=upload.name, dry_run=dry_run)
                if "error" in result:
                    form.add_error("file", result.pop("error"))
                elif dry_run:
                    previews_forget()
                    extension = upload.name.rsplit(".", 1)[-1].lower()
                    token = f"{uuid.uuid4().hex}.{extension}"
                    default_storage.save(f"catalog-imports/{token}", ContentFile(content))
                    result["token"] = token
                context.update(result)
        context["form"] = form
        return TemplateResponse(request, "admin/catalog/gift/import.html", context)

    def _import_run(self, request: HttpRequest, *, content: bytes, filename: str, dry_run: bool) -> dict:
        try:
            report = gift_import(content=content, filename=filename, dry_run=dry_run)
        except DomainError as error:
            return {"error": error.message}
        if not dry_run:
            messages.success(
                request,
                gettext(
                    "Imported: %(created)s created, %(updated)s updated, "
                    "%(failed)s rows with errors not imported."
                )
                % {"created": report.created, "updated": report.updated, "failed": len(report.failed)},
            )
        return {"report": report}

    def codes_view(self, request: HttpRequest, gift_id: int) -> HttpResponse:
        """Add codes to a voucher gift's pool (pasted or uploaded)."""
        gift = get_object_or_404(Gift, pk=gift_id)
        if not self.has_change_permission(request, gift):
            return HttpResponse(status=403)
        form = VoucherCodesForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = voucher_codes_add(gift_id=gift.pk, codes=form.cleaned_data["codes_read"])
            except DomainError as error:
                for where, texts in error.errors.items():
                    form.add_error(None, [f"{where}: {text}" if where else text for text in texts])
            else:
                messages.success(
                    request,
                    gettext("%(added)s codes added to the pool of %(gift)s (%(unused)s unused).")
                    % {"added": result.added, "gift": gift.name, "unused": result.unused},
                )
                return HttpResponseRedirect(reverse("admin:catalog_gift_codes", args=[gift.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": gift,
            "title": gettext("Voucher codes of %(gift)s") % {"gift": gift.name},
            "form": form,
            "unused": gift.codes.filter(order_line__isnull=True).count(),
            "used": gift.codes.filter(order_line__isnull=False).count(),
        }
        return TemplateResponse(request, "admin/catalog/gift/codes.html", context)

    @admin.action(
        description=gettext_lazy("Export the selected gifts as CSV (the import's columns)"),
        permissions=["view"],
    )
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Gift]) -> HttpResponse:
        return csv_download(gifts_export_csv(gifts=queryset), f"gifts-{timezone.localdate()}.csv")

    def _flag(self, request: HttpRequest, queryset: QuerySet[Gift], **values) -> None:
        """Archived gifts are read-only: they are left as they are."""
        count = queryset.filter(archived_at__isnull=True).update(**values, updated_at=timezone.now())
        updated = ngettext("%(count)s gift updated.", "%(count)s gifts updated.", count)
        messages.success(request, updated % {"count": count})

    @admin.action(description=gettext_lazy("Feature the selected gifts"), permissions=["change"])
    def feature(self, request, queryset):
        self._flag(request, queryset, is_featured=True)

    @admin.action(description=gettext_lazy("Stop featuring the selected gifts"), permissions=["change"])
    def unfeature(self, request, queryset):
        self._flag(request, queryset, is_featured=False)

    @admin.action(description=gettext_lazy("Add to the printed catalogue"), permissions=["change"])
    def add_to_printed(self, request, queryset):
        self._flag(request, queryset, in_printed_catalogue=True)

    @admin.action(description=gettext_lazy("Remove from the printed catalogue"), permissions=["change"])
    def remove_from_printed(self, request, queryset):
        self._flag(request, queryset, in_printed_catalogue=False)

    @admin.action(
        description=gettext_lazy("Activate (show and allow redemption; archived gifts stay archived)"),
        permissions=["change"],
    )
    def activate(self, request, queryset):
        self._flag(request, queryset, is_active=True)

    @admin.action(description=gettext_lazy("Deactivate (hide)"), permissions=["change"])
    def deactivate(self, request, queryset):
        self._flag(request, queryset, is_active=False)

    @admin.action(
        description=gettext_lazy("Archive: withdraw for good (hidden, never redeemable, read-only)"),
        permissions=["change"],
    )
    def archive(self, request, queryset):
        archived = sum(
            gift_archive(gift_id=pk)[1] for pk in queryset.order_by("pk").values_list("pk", flat=True)
        )
        done = ngettext("%(count)s gift archived.", "%(count)s gifts archived.", archived)
        messages.success(request, done % {"count": archived})


@admin.register(VoucherCode)
class VoucherCodeAdmin(ModelAdmin):
    list_display = ["code", "gift", "order_line", "used_at"]
    list_filter = [("order_line", admin.EmptyFieldListFilter), "gift"]
    search_fields = ["code", "gift__reference"]
    list_select_related = ["gift", "order_line"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # codes are added to a gift's pool from the gift's page

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: VoucherCode | None = None) -> bool:
        return obj is None or obj.order_line_id is None

    def delete_queryset(self, request, queryset):
        queryset.filter(order_line__isnull=True).delete()


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "gift_reference",
        "gift_name",
        "kind",
        "quantity",
        "points_total",
        "amount",
        "currency",
        "codes",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("codes"))
    def codes(self, line: OrderLine) -> str:
        return ", ".join(code.code for code in line.codes.all()) or "-"


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "tracking_ref", "note"]
    readonly_fields = fields


class ShipForm(forms.Form):
    tracking_ref = forms.CharField(max_length=120)


# What a bulk status change says, per status reached (`% {"count": n}` chooses the plural).
ORDERS_MOVED = {
    Order.Status.CONFIRMED: ngettext_lazy(
        "%(count)s order confirmed.", "%(count)s orders confirmed.", "count"
    ),
    Order.Status.SHIPPED: ngettext_lazy("%(count)s order shipped.", "%(count)s orders shipped.", "count"),
    Order.Status.DELIVERED: ngettext_lazy(
        "%(count)s order delivered.", "%(count)s orders delivered.", "count"
    ),
}


@admin.register(Order)
class OrderAdmin(ModelAdmin):
    list_display = ["id", "placed_at", "member", "status", "total_points", "tracking_ref"]
    list_filter = ["status", "placed_at", "lines__kind"]
    search_fields = [
        "=id",
        "member__external_id",
        "member__last_name",
        "tracking_ref",
        "lines__gift_reference",
    ]
    list_select_related = ["member"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["confirm", "ship", "deliver", "cancel", "export_supplier_csv"]
    readonly_fields = [
        "member",
        "status",
        "total_points",
        "placed_at",
        "tracking_ref",
        "shipping",
        "debit_entry",
        "restore_entry",
        "idempotency_key",
    ]
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        """The portfolio rule (`members_visible`): without `loyalty.view_every_member`, the orders
        of the staff user's own members only."""
        queryset = super().get_queryset(request)
        if request.user.has_perm(VIEW_EVERY_MEMBER):
            return queryset
        return queryset.filter(member__in=members_visible(user=request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("shipping address"))
    def shipping(self, order: Order) -> str:
        return ", ".join(order.shipping_lines) or "-"

    def _transition(
        self, request: HttpRequest, queryset: QuerySet[Order], status: str, per_order: dict | None = None
    ) -> None:
        done, failed = 0, []
        for order in queryset.order_by("pk"):
            try:
                _, changed = order_status_set(
                    order_id=order.pk,
                    status=status,
                    actor=staff_actor(request),
                    staff_user_id=request.user.pk,
                    **(per_order or {}).get(order.pk, {}),
                )
            except DomainError as error:
                failed.append(
                    gettext("order %(number)s: %(error)s") % {"number": order.pk, "error": error.message}
                )
            else:
                done += changed
        if done:
            messages.success(request, ORDERS_MOVED[status] % {"count": done})
        for failure in failed:
            messages.error(request, failure)

    @admin.action(description=gettext_lazy("Confirm the selected orders"))
    def confirm(self, request, queryset):
        self._transition(request, queryset, Order.Status.CONFIRMED)

    @admin.action(description=gettext_lazy("Mark the selected orders delivered"))
    def deliver(self, request, queryset):
        self._transition(request, queryset, Order.Status.DELIVERED)

    @admin.action(description=gettext_lazy("Cancel the selected orders (points and stock go back)"))
    def cancel(self, request, queryset):
        done, failed = 0, []
        for order in queryset.order_by("pk"):
            try:
                _, changed = order_cancel(
                    order_id=order.pk, actor=staff_actor(request), staff_user_id=request.user.pk
                )
            except DomainError as error:
                failed.append(
                    gettext("order %(number)s: %(error)s") % {"number": order.pk, "error": error.message}
                )
            else:
                done += changed
        if done:
            cancelled = ngettext(
                "%(count)s order cancelled; its points and stock are back.",
                "%(count)s orders cancelled; their points and stock are back.",
                done,
            )
            messages.success(request, cancelled % {"count": done})
        for failure in failed:
            messages.error(request, failure)

    @admin.action(description=gettext_lazy("Ship the selected orders (asks for tracking references)"))
    def ship(self, request, queryset):
        orders = list(queryset.order_by("pk"))
        forms_by_order = {
            order.pk: ShipForm(request.POST if "apply" in request.POST else None, prefix=f"o{order.pk}")
            for order in orders
        }
        if "apply" in request.POST and all(form.is_valid() for form in forms_by_order.values()):
            tracking = {
                pk: {"tracking_ref": form.cleaned_data["tracking_ref"]} for pk, form in forms_by_order.items()
            }
            self._transition(request, queryset, Order.Status.SHIPPED, per_order=tracking)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Ship orders"),
            "rows": [(order, forms_by_order[order.pk]) for order in orders],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/order/ship.html", context)

    @admin.action(description=gettext_lazy("Export the selected orders as CSV for the supplier"))
    def export_supplier_csv(self, request, queryset):
        return csv_download(orders_supplier_csv(orders=queryset), f"orders-{timezone.localdate()}.csv")


@admin.register(ServicePush)
class ServicePushAdmin(ModelAdmin):
    """The service-credit outbox: what was (or would be, without an endpoint) sent to the brand."""

    list_display = ["id", "order", "action", "status", "attempts", "response_status", "created_at", "sent_at"]
    list_filter = ["status", "action"]
    readonly_fields = [f.name for f in ServicePush._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Send the failed pushes now"))
    def send_again(self, request, queryset):
        count = service_pushes_send_again(push_ids=list(queryset.values_list("pk", flat=True)))
        queued = ngettext("%(count)s push queued.", "%(count)s pushes queued.", count)
        messages.success(request, queued % {"count": count})
