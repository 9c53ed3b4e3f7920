"""Backoffice: personalised offers (segment, text, image, link, dates), validated and saved by
`loyalty.services.offers`, as the API's are; how many members saw each."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest

from core.admin_base import ModelAdmin
from core.errors import InvalidInput
from loyalty.models import Offer
from loyalty.services.offers import OFFER_FIELDS, offer_save, offer_validate


class OfferForm(forms.ModelForm):
    link = forms.URLField(
        required=False, assume_scheme="https", help_text=Offer._meta.get_field("link").help_text
    )

    class Meta:
        model = Offer
        fields = [*OFFER_FIELDS, "image"]

    def _post_clean(self) -> None:
        """The instance checked by the service alone (the model's checks with the dates compared
        by field, not as a constraint's message without one)."""
        if self.errors:
            return
        self.instance = construct_instance(self, self.instance, self._meta.fields)
        try:
            offer_validate(offer=self.instance)
        except InvalidInput as error:
            for field, problems in error.errors.items():
                self.add_error(field if field in self.fields else None, problems)


@admin.register(Offer)
class OfferAdmin(ModelAdmin):
    form = OfferForm
    list_display = ["title", "segment", "starts_at", "ends_at", "seen"]
    list_filter = ["segment"]
    search_fields = ["title"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Offer]:
        return super().get_queryset(request).select_related("segment").annotate(seen_count=Count("seen_by"))

    @admin.display(description="Seen by (members)", ordering="seen_count")
    def seen(self, offer: Offer) -> int:
        return offer.seen_count  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Offer, form: OfferForm, change: bool) -> None:
        offer_save(data={field: getattr(obj, field) for field in OFFER_FIELDS}, offer=obj)
