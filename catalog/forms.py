"""Forms of the member site's catalogue pages."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.models import Member

from .models import Category
from .services import MAX_QUANTITY, ShippingAddress


class GiftFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=_("Search"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), required=False, to_field_name="slug", empty_label=_("All categories")
    )
    points_min = forms.IntegerField(required=False, min_value=0, label=_("From (points)"))
    points_max = forms.IntegerField(required=False, min_value=0, label=_("To (points)"))
    affordable = forms.BooleanField(required=False, label=_("I can afford it"))

    def filters(self) -> dict:
        """The selector's keyword arguments (an invalid filter is ignored, and shown as an error)."""
        data = self.cleaned_data if self.is_valid() else {}
        category = data.get("category")
        return {
            "search": data.get("q") or None,
            "category": category.slug if category else None,
            "points_min": data.get("points_min"),
            "points_max": data.get("points_max"),
            "affordable_only": bool(data.get("affordable")),
        }


class RedeemForm(forms.Form):
    token = forms.CharField(
        widget=forms.HiddenInput, max_length=64, help_text=_("makes a double click harmless")
    )
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1, label=_("Quantity"))
    # Sent by the confirmation page's button: the gift page's form asks for the confirmation first.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    ship_name = forms.CharField(max_length=160, required=False, label=_("Name"))
    ship_line1 = forms.CharField(max_length=160, required=False, label=_("Address"))
    ship_line2 = forms.CharField(max_length=160, required=False, label=_("Address (line 2)"))
    ship_postal_code = forms.CharField(max_length=16, required=False, label=_("Postal code"))
    ship_city = forms.CharField(max_length=80, required=False, label=_("City"))
    ship_country = forms.CharField(max_length=2, required=False, label=_("Country (2 letters)"))
    ship_phone = forms.CharField(max_length=20, required=False, label=_("Phone"))

    def __init__(self, *args, needs_address: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.needs_address = needs_address
        if not needs_address:
            for name in list(self.fields):
                if name.startswith("ship_"):
                    del self.fields[name]
        else:
            for name in ("ship_name", "ship_line1", "ship_postal_code", "ship_city", "ship_country"):
                self.fields[name].required = True

    @classmethod
    def initial_for(cls, member: Member) -> dict:
        return {
            "token": uuid.uuid4().hex,
            "quantity": 1,
            "ship_name": f"{member.first_name} {member.last_name}".strip() or member.company_name,
            "ship_line1": member.address_line1,
            "ship_line2": member.address_line2,
            "ship_postal_code": member.postal_code,
            "ship_city": member.city,
            "ship_country": member.country,
            "ship_phone": member.phone,
        }

    def shipping(self) -> ShippingAddress | None:
        if not self.needs_address:
            return None
        data = self.cleaned_data
        return ShippingAddress(
            name=data["ship_name"],
            line1=data["ship_line1"],
            line2=data["ship_line2"],
            postal_code=data["ship_postal_code"],
            city=data["ship_city"],
            country=data["ship_country"].upper(),
            phone=data["ship_phone"],
        )
