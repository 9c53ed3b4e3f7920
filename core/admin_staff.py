"""The backoffice's staff list (README "Staff accounts"): Django's users, re-registered as the
brand's staff with their role (`StaffProfile`), for owners only (`core.manage_staff`).

"Add" invites by e-mail (`core.staff.staff_invite`): the invitee chooses their own password. A role
changes on the staff user's page (`staff_role_set`, audited); the other fields are saved as any
admin form (audited by `core.admin_base`). Staff are deactivated, never deleted: their name stays
on the audit trail and the members they follow. Actions: invite again (a login that never chose its
password), reset the second factor (a lost phone)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.widgets import UnfoldAdminEmailInputWidget, UnfoldAdminSelectWidget

from core.admin_base import ModelAdmin
from core.audit import audit_record
from core.errors import DomainError
from core.models import StaffProfile
from core.staff import (
    staff_invitation_resend,
    staff_invite,
    staff_owner_kept,
    staff_profile_of,
    staff_role_set,
)
from core.totp import totp_remove

User = get_user_model()

if admin.site.is_registered(User):
    admin.site.unregister(User)


def _may_manage(request: HttpRequest) -> bool:
    return request.user.has_perm("core.manage_staff")


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), widget=UnfoldAdminEmailInputWidget)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=StaffProfile.Role.choices, widget=UnfoldAdminSelectWidget
    )


class StaffForm(forms.ModelForm):
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=StaffProfile.Role.choices, widget=UnfoldAdminSelectWidget
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profile = staff_profile_of(self.instance)
        if profile is not None:
            self.fields["role"].initial = profile.role


@admin.register(User)
class StaffAdmin(ModelAdmin):
    form = StaffForm
    list_display = ["username", "full_name", "role", "two_factor", "is_active", "last_login"]
    list_filter = ["is_active", "staff_profile__role"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    readonly_fields = ["username", "last_login", "date_joined", "invited"]
    fieldsets = [
        (None, {"fields": ["username", "email", "first_name", "last_name", "role", "is_active"]}),
        (gettext_lazy("History"), {"fields": ["invited", "last_login", "date_joined"]}),
    ]
    actions = ["invite_again", "two_factor_reset"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(is_staff=True).select_related("staff_profile")

    # Owners only, every page and action (the role map gives `core.manage_staff` to owners).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may_manage(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- columns ------------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("name"))
    def full_name(self, user: Any) -> str:
        return user.get_full_name()

    @admin.display(description=gettext_lazy("role"), ordering="staff_profile__role")
    def role(self, user: Any) -> str:
        profile = getattr(user, "staff_profile", None)
        return profile.get_role_display() if profile else _("none")

    @admin.display(description=gettext_lazy("two-factor"), boolean=True)
    def two_factor(self, user: Any) -> bool:
        profile = getattr(user, "staff_profile", None)
        return bool(profile and profile.totp_confirmed_at)

    @admin.display(description=gettext_lazy("invited"))
    def invited(self, user: Any) -> str:
        profile = getattr(user, "staff_profile", None)
        if profile is None or profile.invited_at is None:
            return "-"
        state = _("password chosen") if user.has_usable_password() else _("waiting for the password")
        by = profile.invited_by.get_username() if profile.invited_by else "-"
        return f"{profile.invited_at:%Y-%m-%d %H:%M} ({by}; {state})"

    # --- saving -------------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            staff_role_set(user=obj, role=form.cleaned_data["role"])
            staff_owner_kept()

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # the last owner's role or login: nothing saved
            self.message_user(request, error.message, messages.ERROR)
            return redirect(request.get_full_path())

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The invitation: an e-mail address and a role."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                user = staff_invite(
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    by=request.user,
                    base_url=request.build_absolute_uri("/"),
                )
            except DomainError as error:
                for field, texts in error.errors.items():
                    for text in texts:
                        form.add_error(field if field in form.fields else None, text)
            else:
                self.message_user(
                    request, _("%(email)s is invited: the link is on its way.") % {"email": user.email}
                )
                return redirect("admin:auth_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Invite a staff member"),
            "form": form,
        }
        return render(request, "core/staff/invite.html", context)

    # --- actions ------------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Send the invitation again"), permissions=["change"])
    def invite_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = 0
        for user in queryset:
            try:
                staff_invitation_resend(user=user, base_url=request.build_absolute_uri("/"))
            except DomainError as error:
                self.message_user(request, f"{user.get_username()}: {error.message}", messages.WARNING)
            else:
                sent += 1
        if sent:
            self.message_user(request, _("Invitations sent again: %(count)d.") % {"count": sent})

    @admin.action(description=gettext_lazy("Reset two-factor authentication"), permissions=["change"])
    def two_factor_reset(self, request: HttpRequest, queryset: QuerySet) -> None:
        reset = 0
        for user in queryset.filter(staff_profile__totp_confirmed_at__isnull=False):
            with transaction.atomic():
                totp_remove(user=user)
                audit_record(
                    action="action",
                    obj=user.staff_profile,
                    before={"two_factor": True},
                    after={"two_factor": False},
                    reason=_("two-factor authentication reset"),
                )
            reset += 1
        self.message_user(request, _("Two-factor authentication reset for %(count)d.") % {"count": reset})
