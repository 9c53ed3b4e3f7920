"""Backoffice: member lookup and support.

The member page is the service page: everything about one member on one screen (profile, consents
and their history, balance, spendable and pending points, next expiries, the latest ledger entries
with their explanation (the full ledger on a page of its own), tier history, badges, orders,
messages and their states, VIP status and subscriptions, activation codes), with the actions
support needs, each behind its permission (README.md, "Backoffice"). Staff without
`loyalty.view_every_member` see only their portfolio, here as in the list. Points change only through the
"adjust points" form, which requires a reason and goes through the ledger service; the balance and
the ledger are never editable here. Profile edits go through the member service and save only the
fields the form changed, so a concurrent earning is never overwritten by a stale balance.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.models import Subscription
from catalog.selectors import member_orders
from core.admin_base import ModelAdmin, TabularInline
from core.errors import DomainError, InvalidInput
from loyalty.models import (
    ActivationCode,
    Consent,
    ConsentChange,
    LedgerEntry,
    Member,
    MemberAudit,
    MemberBadge,
    TierChange,
)
from loyalty.selectors.activation import activation_code_state, member_activation_codes
from loyalty.selectors.members import member_expiries, member_points_summary, members_visible
from loyalty.selectors.programme import programme_settings
from loyalty.selectors.tiers import member_metric, tier_preview, tier_standing
from loyalty.services.activation import activation_code_issue
from loyalty.services.ledger import LedgerError, points_adjust
from loyalty.services.members import (
    MEMBER_CONTACT_FIELDS,
    MEMBER_FIELDS,
    member_anonymise,
    member_block,
    member_codes_check,
    member_sales_rep_set,
    member_unblock,
    member_upsert,
)
from loyalty.services.privacy import member_erase, member_export
from loyalty.services.signup import email_mask, invitation_send
from loyalty.services.tiers import member_tier_evaluate, tier_floor_set
from messaging.selectors.messages import messages_list
from messaging.services.resend import ON_ITS_WAY, message_resend

RECENT_ENTRIES = 20
RECENT_ORDERS = 10
RECENT_MESSAGES = 20
LEDGER_PAGE = 100

# The permissions of the service page's actions (README.md, "Backoffice": roles).
BLOCK_MEMBER = "loyalty.block_member"
ISSUE_ACTIVATION_CODE = "loyalty.issue_activation_code"
ERASE_MEMBER = "loyalty.erase_member"
EXPORT_MEMBER_DATA = "loyalty.export_member_data"
ADJUST_POINTS = "loyalty.adjust_points"
RESEND_MESSAGE = "messaging.resend_message"


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TierChangeInline(ReadOnlyInline):
    model = TierChange
    verbose_name_plural = "tier history"
    fields = ["changed_at", "from_tier", "to_tier", "reason", "metric_value"]


class MemberBadgeInline(ReadOnlyInline):
    model = MemberBadge
    fields = ["badge", "awarded_at"]


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ["channel", "granted", "changed_at", "source"]


class ConsentChangeInline(ReadOnlyInline):
    model = ConsentChange
    verbose_name_plural = gettext_lazy("consent history")
    fields = ["changed_at", "channel", "granted", "source"]


class MemberAuditInline(ReadOnlyInline):
    model = MemberAudit
    verbose_name_plural = "status and sales rep history"
    fields = ["at", "action", "by", "reason", "before", "after"]


class ActivationCodeInline(ReadOnlyInline):
    """The member's activation codes and their state; never a code (only its HMAC is kept)."""

    model = ActivationCode
    fields = ["issued_at", "source", "issued_by", "state"]
    readonly_fields = ["state"]

    @admin.display(description=gettext_lazy("state"))
    def state(self, code: ActivationCode) -> str:
        state = activation_code_state(code=code)
        label, at = {
            "active": ("active until", code.expires_at),
            "expired": ("expired on", code.expires_at),
            "used": ("used on", code.used_at),
            "revoked": ("revoked on", code.revoked_at),
        }[state]
        return f"{label} {date_format(localtime(at), 'j M Y H:i')}"


# The member service that moves a member to each status.
STATUS_SERVICES = {
    Member.Status.ACTIVE: member_unblock,
    Member.Status.BLOCKED: member_block,
    Member.Status.ANONYMISED: member_anonymise,
}


class StandingForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="kept in the audit")


class AdjustForm(forms.Form):
    points = forms.IntegerField(
        min_value=-1_000_000_000, max_value=1_000_000_000, help_text="positive to add, negative to take"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="kept in the ledger")
    # One key per displayed form: submitting it twice adjusts once.
    key = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment cannot be zero.")
        return points


class TierPreviewForm(forms.Form):
    """The member page's preview date. Its field sits in the member's form on the page but belongs
    to a form of its own (`form="tier-preview"`, outside the member's)."""

    tier_preview = forms.DateField(
        label="Tier on",
        widget=forms.DateInput(attrs={"type": "date", "form": "tier-preview"}, format="%Y-%m-%d"),
    )


class MemberForm(forms.ModelForm):
    # The staff user editing (set by `MemberAdmin.get_form`): whether they may anonymise.
    staff: Any = None

    """The member page's form. The model's own checks run as for any model form; the member
    service's checks of the country and language codes land on those fields, so that a code the
    service would refuse is a form error and nothing is saved. A change of status or sales rep
    needs a reason, kept in the member's audit."""

    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="why the status or the sales rep changes (required then; kept in the audit)",
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        codes = {field: cleaned[field] for field in ("country", "language") if field in cleaned}
        try:
            cleaned.update(member_codes_check(data=codes))
        except InvalidInput as error:
            for field, field_messages in error.errors.items():
                self.add_error(field, field_messages)
        if cleaned.get("status") == Member.Status.ANONYMISED and "status" in self.changed_data:
            if not (self.staff and self.staff.has_perm(ERASE_MEMBER)):
                self.add_error("status", "You may not anonymise members.")
        standing = {"status", "sales_rep"}.intersection(self.changed_data)
        if standing and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why the status or the sales rep changes.")
        return cleaned


@admin.register(Member)
class MemberAdmin(ModelAdmin):
    form = MemberForm
    list_display = ["external_id", "display_name", "email", "phone", "kind", "tier", "balance", "status"]
    list_filter = ["kind", "status", "tier", "is_vip"]
    list_select_related = ["tier"]
    # Prefix and exact searches use the indexes and stay fast with a million members.
    search_fields = ["=external_id", "^email", "^phone", "^last_name", "^first_name", "^company_name"]
    search_help_text = "External id (exact), or the start of an e-mail, phone, name or company"
    show_full_result_count = False
    inlines = [
        TierChangeInline,
        MemberBadgeInline,
        ConsentInline,
        ConsentChangeInline,
        MemberAuditInline,
        ActivationCodeInline,
    ]
    actions = ["block", "unblock", "anonymise"]
    change_form_template = "loyalty/admin/members/change_form.html"
    readonly_fields = [
        "external_id",
        "balance",
        "points_owed",
        "overdraft_limit",
        "tier",
        "tier_since",
        "tier_below_since",
        "vip_source",
        "vip_since",
        "joined_at",
        "last_activity_at",
    ]
    fieldsets = [
        (None, {"fields": ["external_id", "kind", "status", "tags", "sales_rep", "reason"]}),
        # `is_vip` here is the staff grant (README.md, "VIP and billing"); the source says why.
        ("VIP", {"fields": ["is_vip", "vip_source", "vip_since"]}),
        (gettext_lazy("Points"), {"fields": ["balance", "points_owed", "overdraft_limit"]}),
        (gettext_lazy("Tier"), {"fields": ["tier", "tier_since", "tier_below_since", "tier_floor"]}),
        (gettext_lazy("Contact"), {"fields": list(MEMBER_CONTACT_FIELDS)}),
        (gettext_lazy("Dates"), {"fields": ["joined_at", "last_activity_at"]}),
    ]

    def get_queryset(self, request: HttpRequest):
        """The portfolio rule: without `loyalty.view_every_member`, the staff user's members only
        (another's member page answers as if it did not exist)."""
        return members_visible(user=request.user, queryset=super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Member | None = None):
        """An anonymised member's details are never set again (`member_upsert` refuses): shown, not
        editable, as their status and sales rep. The status changes only with the permission to
        block."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status == Member.Status.ANONYMISED:
            fields += [field for field in (*MEMBER_FIELDS, "status", "sales_rep") if field not in fields]
        elif not request.user.has_perm(BLOCK_MEMBER):
            fields.append("status")
        return fields

    def get_form(self, request: HttpRequest, obj: Member | None = None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.staff = request.user  # a class of this request's own (modelform_factory)
        return form

    def has_block_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return request.user.has_perm(BLOCK_MEMBER)

    def has_erase_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return request.user.has_perm(ERASE_MEMBER)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members come from the brand's systems (API), the site and imports

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a member with a ledger is anonymised, never deleted

    @admin.action(description=gettext_lazy("Block the selected members"), permissions=["block"])
    def block(self, request: HttpRequest, queryset):
        return self._standing(request, queryset, member_block, "Block")

    @admin.action(description=gettext_lazy("Unblock the selected members"), permissions=["block"])
    def unblock(self, request: HttpRequest, queryset):
        return self._standing(request, queryset, member_unblock, "Unblock")

    @admin.action(description=gettext_lazy("Anonymise the selected members"), permissions=["erase"])
    def anonymise(self, request: HttpRequest, queryset):
        return self._standing(request, queryset, member_anonymise, "Anonymise")

    def _standing(self, request: HttpRequest, queryset, service, verb: str):
        """Ask for the reason, then change each member through the service (one transaction
        each); members it refuses (already blocked, anonymised...) are named and left as they are."""
        form = StandingForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"{verb} {queryset.count()} members",
                "form": form,
                "members": queryset,
                "action": request.POST["action"],
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
                "verb": verb,
            }
            return TemplateResponse(request, "loyalty/admin/members/standing.html", context)
        done, refused = 0, []
        for member in queryset:
            try:
                service(member=member, by=request.user, reason=form.cleaned_data["reason"])
            except DomainError as error:
                refused.append(f"{member}: {error.message}")
            else:
                done += 1
        self.message_user(request, f"{verb}: {done} members.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Left as they were: {'; '.join(refused)}", messages.WARNING)
        return None

    def save_model(self, request: HttpRequest, obj: Member, form, change: bool) -> None:
        changed = set(form.changed_data)
        data = form.cleaned_data
        with transaction.atomic():
            profile = {field: data[field] for field in MEMBER_FIELDS if field in changed}
            if profile:
                member_upsert(external_id=obj.external_id, data=profile, source="backoffice")
            if "sales_rep" in changed:
                member_sales_rep_set(
                    member=obj, by=request.user, sales_rep=data["sales_rep"], reason=data["reason"]
                )
            if "status" in changed:
                STATUS_SERVICES[data["status"]](member=obj, by=request.user, reason=data["reason"])
            if "tier_floor" in changed:
                tier_floor_set(member_id=obj.pk, tier=data["tier_floor"])

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:member_id>/ledger/", wrap(self.ledger_view), name="loyalty_member_ledger"),
            path("<int:member_id>/adjust/", wrap(self.adjust_view), name="loyalty_member_adjust"),
            path(
                "<int:member_id>/activation-code/",
                wrap(self.activation_code_view),
                name="loyalty_member_activation_code",
            ),
            path(
                "<int:member_id>/tier-evaluation/",
                wrap(self.tier_evaluation_view),
                name="loyalty_member_tier_evaluation",
            ),
            path("<int:member_id>/invitation/", wrap(self.invitation_view), name="loyalty_member_invitation"),
            path("<int:member_id>/personal-data/", wrap(self.export_view), name="loyalty_member_export"),
            path("<int:member_id>/erase/", wrap(self.erase_view), name="loyalty_member_erase"),
            path(
                "<int:member_id>/message-resend/",
                wrap(self.message_resend_view),
                name="loyalty_member_message_resend",
            ),
            *super().get_urls(),
        ]

    def _member_or_404(self, request: HttpRequest, member_id: int) -> Member:
        member = get_object_or_404(
            self.get_queryset(request).select_related("tier", "tier_floor"), pk=member_id
        )
        if not self.has_view_permission(request, member):
            raise PermissionDenied
        return member

    def _context(self, request: HttpRequest, member: Member, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": member,
            "member": member,
            "title": title,
        }

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        if member is not None:
            extra_context = {
                **(extra_context or {}),
                "entries": _entries(member)[:RECENT_ENTRIES],
                "metric": member_metric(member=member, at=timezone.now()),
                "metric_name": programme_settings().get_tier_metric_display(),
                "points_cards": _points_cards(member),
                "expiries": member_expiries(member=member),
                "orders": member_orders(member=member)[:RECENT_ORDERS],
                "member_messages": messages_list(member=member).select_related(None)[:RECENT_MESSAGES],
                "subscriptions": Subscription.objects.filter(member=member).select_related("plan"),
                "can_adjust": request.user.has_perm(ADJUST_POINTS),
                "can_change": self.has_change_permission(request, member),
                "can_issue_code": request.user.has_perm(ISSUE_ACTIVATION_CODE),
                "can_resend": request.user.has_perm(RESEND_MESSAGE),
                "can_export": request.user.has_perm(EXPORT_MEMBER_DATA),
                "can_erase": request.user.has_perm(ERASE_MEMBER),
                "on_its_way": ON_ITS_WAY,
                "order_headers": [_("order"), _("placed"), _("status"), _("points"), _("gifts")],
                "message_headers": [_("created"), _("channel"), _("template"), _("state"), ""],
                "subscription_headers": [_("plan"), _("status"), _("price"), _("current period ends")],
                **_tier_context(request, member),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def tier_evaluation_view(self, request: HttpRequest, member_id: int):
        """Re-evaluate the member's tier now (POST), as the nightly run and the API do; the member
        page then shows the outcome."""
        member = self._member_or_404(request, member_id)
        if request.method != "POST" or not self.has_change_permission(request, member):
            raise PermissionDenied
        try:
            outcome = member_tier_evaluate(member_id=member.pk)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            tier = outcome.tier.name if outcome.tier else "no tier"
            self.message_user(request, f"Tier evaluated: {tier} ({outcome.reason_text}).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:loyalty_member_change", args=[member.pk]))

    def activation_code_view(self, request: HttpRequest, member_id: int):
        """Issue a new activation code (POST; the member's older ones are revoked) and show it, this
        once: it is in this page's answer only, never in a message or the session."""
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(ISSUE_ACTIVATION_CODE):
            raise PermissionDenied
        context = self._context(request, member, f"Activation code of {member}")
        if request.method == "POST":
            try:
                context["issued"] = activation_code_issue(
                    member=member, by=request.user, source=ActivationCode.Source.BACKOFFICE
                )
            except DomainError as error:
                context["refusal"] = error.message
        else:
            context["in_force"] = (
                member_activation_codes(member=member)
                .filter(used_at__isnull=True, revoked_at__isnull=True)
                .first()
            )
        # admin_view makes it never cached: the code is in this answer only.
        return TemplateResponse(request, "loyalty/admin/members/activation_code.html", context)

    def invitation_view(self, request: HttpRequest, member_id: int):
        """E-mail the member a link to set their password on the member site (POST; the page asks
        first), as `POST /api/v1/members/{external_id}/invitations` does."""
        member = self._member_or_404(request, member_id)
        if not self.has_change_permission(request, member):
            raise PermissionDenied
        if request.method == "POST":
            try:
                sent = invitation_send(member=member, base_url=request.build_absolute_uri("/"))
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                until = f"{timezone.localtime(sent.expires_at):%Y-%m-%d %H:%M %Z}"
                message = f"Invitation sent to {email_mask(sent.email)}; the link works once, until {until}."
                self.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:loyalty_member_change", args=[member.pk]))
        context = self._context(request, member, f"Invite {member} to the member site")
        return TemplateResponse(request, "loyalty/admin/members/invitation.html", context)

    def message_resend_view(self, request: HttpRequest, member_id: int):
        """Send one of the member's messages again (POST `message`: its id), as a new message
        checked again (consent, quiet hours); the member page then shows it."""
        member = self._member_or_404(request, member_id)
        if request.method != "POST" or not request.user.has_perm(RESEND_MESSAGE):
            raise PermissionDenied
        message_id = request.POST.get("message", "")
        if not message_id.isdigit() or not messages_list(member=member).filter(pk=message_id).exists():
            self.message_user(request, "No such message of this member.", messages.ERROR)
        else:
            try:
                again = message_resend(message_id=int(message_id))
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                outcome = again.get_state_display().lower()
                if again.skip_reason:
                    outcome += f" ({again.skip_reason})"
                self.message_user(request, f"Message sent again: {outcome}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:loyalty_member_change", args=[member.pk]) + "#member-messages"
        )

    def export_view(self, request: HttpRequest, member_id: int):
        """Everything the brand holds about the member, as a JSON file (GDPR; audited)."""
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(EXPORT_MEMBER_DATA):
            raise PermissionDenied
        response = JsonResponse(
            member_export(member=member),
            encoder=DjangoJSONEncoder,
            json_dumps_params={"ensure_ascii": False, "indent": 2},
        )
        response["Content-Disposition"] = f'attachment; filename="member-{member.pk}-personal-data.json"'
        return response

    def erase_view(self, request: HttpRequest, member_id: int):
        """Erase the member's personal data everywhere (GDPR), after a confirmation with a reason."""
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(ERASE_MEMBER):
            raise PermissionDenied
        form = StandingForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                member_erase(member=member, by=request.user, reason=form.cleaned_data["reason"])
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, "The member's personal data is erased.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:loyalty_member_change", args=[member.pk]))
        context = {**self._context(request, member, f"Erase the personal data of {member}"), "form": form}
        return TemplateResponse(request, "loyalty/admin/members/erase.html", context)

    def ledger_view(self, request: HttpRequest, member_id: int):
        member = self._member_or_404(request, member_id)
        page = Paginator(_entries(member), LEDGER_PAGE).get_page(request.GET.get("page"))
        context = {**self._context(request, member, f"Ledger of {member}"), "page": page, "entries": page}
        return TemplateResponse(request, "loyalty/admin/members/ledger.html", context)

    def adjust_view(self, request: HttpRequest, member_id: int):
        member = self._member_or_404(request, member_id)
        if not request.user.has_perm(ADJUST_POINTS):
            raise PermissionDenied
        if request.method == "POST":
            form = AdjustForm(request.POST)
            if form.is_valid():
                try:
                    entry = points_adjust(
                        member_id=member.pk,
                        points=form.cleaned_data["points"],
                        reason=form.cleaned_data["reason"],
                        staff_user_id=request.user.pk,
                        idempotency_key=f"backoffice-adjust:{form.cleaned_data['key']}",
                    )
                except LedgerError as error:
                    form.add_error(None, str(error))
                else:
                    self.message_user(
                        request,
                        f"{entry.points:+d} points; the balance is now {entry.balance_after}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:loyalty_member_change", args=[member.pk]))
        else:
            form = AdjustForm(initial={"key": uuid.uuid4().hex})
        context = {**self._context(request, member, f"Adjust the points of {member}"), "form": form}
        return TemplateResponse(request, "loyalty/admin/members/adjust.html", context)


def _points_cards(member: Member) -> list[tuple[str, int]]:
    """The service page's figures: balance, what can be spent now, what is pending, what is owed."""
    points = member_points_summary(member=member)
    return [
        (_("Balance"), points.balance),
        (_("Spendable now"), points.spendable),
        (_("Pending"), points.pending),
        (_("Owed"), points.owed),
    ]


def _tier_context(request: HttpRequest, member: Member) -> dict:
    """The tier evaluation as it stands now (read only) and, with `?tier_preview=<date>`, the preview
    at that date (its errors on the form)."""
    form = TierPreviewForm(request.GET if "tier_preview" in request.GET else None)
    preview = None
    if form.is_valid():
        try:
            preview = tier_preview(member=member, on=form.cleaned_data["tier_preview"])
        except InvalidInput as error:
            form.add_error("tier_preview", error.errors.get("at", [error.message]))
        except DomainError as error:
            form.add_error(None, error.message)
    return {
        "tier_now": tier_standing(member=member, at=timezone.now()),
        "tier_preview_form": form,
        "tier_preview": preview,
    }


def _entries(member: Member):
    return LedgerEntry.objects.filter(member=member).select_related("rule", "event", "staff_user")
