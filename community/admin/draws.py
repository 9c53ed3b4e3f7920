"""The backoffice's prize draws: scheduled through `community.services.draws` (the seed drawn and its
hash published on creation), their winners read-only, "Draw now" once the draw is due and "Cancel
the draw" (bought tickets refunded) while it is scheduled, each confirmed on a page of its own. The
seed is never shown before the draw (nor written to the audit trail: `core.audit` masks it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy, ngettext

from community.models import Draw, DrawWinner
from community.selectors.draws import draw_is_due, draw_seed_public
from community.services.draws import (
    DRAW_FIELDS,
    draw_cancel,
    draw_create,
    draw_run,
    draw_update,
    draw_validate,
)
from core.admin_base import ModelAdmin
from core.errors import DomainError
from loyalty.admin.members import ReadOnlyInline
from loyalty.admin.programme import ServiceForm


class DrawForm(ServiceForm):
    service_validate = staticmethod(draw_validate)

    class Meta:
        model = Draw
        fields = DRAW_FIELDS

    def _instance_kwarg(self) -> dict:
        return {"draw": self.instance}


class DrawWinnerInline(ReadOnlyInline):
    model = DrawWinner
    fields = ["rank", "member", "notified_at"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("winners")


@admin.register(Draw)
class DrawAdmin(ModelAdmin):
    form = DrawForm
    inlines = [DrawWinnerInline]
    list_display = ["name", "prize", "eligibility", "draw_at", "state", "entrants", "tickets"]
    list_filter = ["state", "eligibility"]
    search_fields = ["name", "prize"]
    date_hierarchy = "draw_at"
    change_form_template = "admin/community/draw/change_form.html"
    readonly_fields = ["state", "seed_hash", "published_seed", "drawn_at"]
    fieldsets = [
        (None, {"fields": ["name", "prize", "description", "gift", "winners_count"]}),
        (
            gettext_lazy("Who takes part"),
            {
                "fields": ["eligibility", "segment", "points_per_ticket", "ticket_price"],
                "description": gettext_lazy(
                    "A segment's members get one ticket each; or one ticket per N points spent on "
                    "gifts during the entries; or members buy tickets with points."
                ),
            },
        ),
        (gettext_lazy("Dates"), {"fields": ["opens_at", "closes_at", "draw_at"]}),
        (gettext_lazy("Proof"), {"fields": ["state", "seed_hash", "published_seed", "drawn_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Draw]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                entrants_count=Count("entries__member", distinct=True), tickets_sum=Sum("entries__tickets")
            )
        )

    @admin.display(description=gettext_lazy("members"), ordering="entrants_count")
    def entrants(self, draw: Draw) -> int:
        return draw.entrants_count  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("tickets"), ordering="tickets_sum")
    def tickets(self, draw: Draw) -> int:
        return draw.tickets_sum or 0  # type: ignore[attr-defined]

    @admin.display(description=gettext_lazy("seed"))
    def published_seed(self, draw: Draw) -> str:
        return draw_seed_public(draw=draw) or gettext("published after the draw")

    def has_change_permission(self, request: HttpRequest, obj: Draw | None = None) -> bool:
        """A drawn or cancelled draw is history: shown, not changed."""
        if obj is not None and obj.state != Draw.State.SCHEDULED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Draw | None = None) -> bool:
        """A draw with entries is cancelled (the tickets refunded), not deleted."""
        if obj is not None and (obj.state != Draw.State.SCHEDULED or obj.entries.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Draw, form: DrawForm, change: bool) -> None:
        data = form._form_data()
        saved = draw_update(draw_id=obj.pk, data=data) if change else draw_create(data=data)
        obj.pk, obj.seed_hash = saved.pk, saved.seed_hash

    def get_urls(self) -> list:
        wrap = self.admin_site.admin_view
        return [
            path("<int:draw_id>/run/", wrap(self.run_view), name="community_draw_run"),
            path("<int:draw_id>/cancel/", wrap(self.cancel_view), name="community_draw_cancel"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        draw = Draw.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        may = draw is not None and super().has_change_permission(request, draw)
        extra = {
            "draw_due": may and draw is not None and draw_is_due(draw=draw),
            "draw_cancellable": may and draw is not None and draw.state == Draw.State.SCHEDULED,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def run_view(self, request: HttpRequest, draw_id: int) -> HttpResponse:
        """ "Draw now": only a due draw (its time come), confirmed by a POST."""
        return self._confirmed(
            request,
            draw_id,
            allowed=lambda draw: draw_is_due(draw=draw),
            title=gettext("Draw now"),
            text=gettext(
                "The winners are drawn from the seed, the seed is published and the winners are told."
            ),
            act=lambda draw: draw_run(draw_id=draw.pk),
            done=lambda draw: (
                ngettext("Drawn: %(count)s winner.", "Drawn: %(count)s winners.", draw.winners.count())
                % {"count": draw.winners.count()}
            ),
        )

    def cancel_view(self, request: HttpRequest, draw_id: int) -> HttpResponse:
        """Cancel a scheduled draw: the tickets bought are refunded."""
        return self._confirmed(
            request,
            draw_id,
            allowed=lambda draw: draw.state == Draw.State.SCHEDULED,
            title=gettext("Cancel the draw"),
            text=gettext("Nobody wins this draw and every ticket bought is refunded to its buyer."),
            act=lambda draw: draw_cancel(draw_id=draw.pk),
            done=lambda draw: gettext("The draw is cancelled: the tickets bought were refunded."),
        )

    def _confirmed(
        self, request: HttpRequest, draw_id: int, *, allowed: Any, title: str, text: str, act: Any, done: Any
    ) -> HttpResponse:
        draw = get_object_or_404(Draw, pk=draw_id)
        if not super().has_change_permission(request, draw):
            return HttpResponse(status=403)
        change_url = reverse("admin:community_draw_change", args=[draw.pk])
        if not allowed(draw):
            messages.error(request, gettext("This is not possible for this draw now."))
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                draw = act(draw)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, done(draw))
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": draw,
            "title": title,
            "text": text,
        }
        return TemplateResponse(request, "admin/community/draw/confirm.html", context)
