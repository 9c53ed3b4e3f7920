"""Campaigns through the API: created (and scheduled) with the backoffice's validation, listed, read
with their progress, paused, resumed and cancelled. Thin: `messaging.services.campaigns` checks
and writes, `messaging.selectors.campaigns` counts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from core.errors import InvalidInput
from loyalty.api.programme import body_object
from messaging.models import Campaign, CampaignRun, Channel
from messaging.selectors.campaigns import (
    campaign_get,
    campaign_progress,
    campaign_runs,
    campaigns_list,
    run_progress,
)
from messaging.services.campaigns import (
    WEEKDAYS,
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_resume,
)

# The runs shown with a campaign, latest first.
RUNS_SHOWN = 10
# The service's field names as the API names them.
API_FIELDS = {
    "template_code": "template",
    "schedule": "schedule.kind",
    "send_at": "schedule.at",
    "weekdays": "schedule.weekdays",
    "local_time": "schedule.time",
}
CAMPAIGN_ID = OpenApiParameter("campaign_id", int, OpenApiParameter.PATH, description="the campaign's id")
NOT_FOUND = {404: "no campaign with this id (`error.field`: `campaign_id`)"}


class ScheduleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=Campaign.Schedule.choices,
        help_text="`now`: sent at once; `at`: at the date `at`; `weekly`: every `weekdays` at `time`",
    )
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="`at` only: when, with its offset (ISO 8601), in the future",
    )
    weekdays = serializers.ListField(
        child=serializers.ChoiceField(choices=WEEKDAYS),
        required=False,
        help_text="`weekly` only: the days it is sent on",
    )
    time = serializers.TimeField(
        required=False, allow_null=True, help_text="`weekly` only: the time (HH:MM) in the brand's timezone"
    )


class CampaignProgressSerializer(serializers.Serializer):
    recipients = serializers.IntegerField(help_text="the segment's members when the runs started")
    messages = serializers.IntegerField(
        help_text="messages written so far, one per member (skipped ones too)"
    )
    queued = serializers.IntegerField(help_text="waiting to be sent (sending hours, a pause, the queue)")
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    unknown = serializers.IntegerField(
        help_text="cut off by a crash while sending: the provider's word settles it"
    )
    skipped = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    skipped_by_reason = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="e.g. `no_phone`, `no_consent`, `opted_out`, `member_blocked`",
    )


class RunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    planned_at = serializers.DateTimeField(help_text="the slot it was started for")
    state = serializers.ChoiceField(
        choices=CampaignRun.State.choices,
        help_text="`running`: members are being queued; `done`: every member has a message",
    )
    error = serializers.CharField(help_text="why it failed (a segment or template no longer valid)")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.SerializerMethodField()

    @extend_schema_field(CampaignProgressSerializer)
    def get_progress(self, run: CampaignRun) -> dict:
        return CampaignProgressSerializer(run_progress(run=run)).data


class CampaignSerializer(serializers.Serializer):
    """A campaign as answered."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    segment = serializers.IntegerField(source="segment_id")
    channel = serializers.ChoiceField(choices=Channel.choices)
    template = serializers.CharField(source="template_code")
    schedule = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=Campaign.State.choices)
    next_run_at = serializers.DateTimeField(allow_null=True, help_text="when it is next sent")
    created_at = serializers.DateTimeField()
    progress = serializers.SerializerMethodField(help_text="every run together")
    runs = serializers.SerializerMethodField(
        help_text=f"the latest {RUNS_SHOWN} runs, each with its progress"
    )

    @extend_schema_field(ScheduleSerializer)
    def get_schedule(self, campaign: Campaign) -> dict:
        return ScheduleSerializer(
            {
                "kind": campaign.schedule,
                "at": campaign.send_at,
                "weekdays": [WEEKDAYS[day] for day in campaign.weekdays],
                "time": campaign.local_time,
            }
        ).data

    @extend_schema_field(CampaignProgressSerializer)
    def get_progress(self, campaign: Campaign) -> dict:
        return CampaignProgressSerializer(campaign_progress(campaign=campaign)).data

    @extend_schema_field(RunSerializer(many=True))
    def get_runs(self, campaign: Campaign) -> list:
        return RunSerializer(campaign_runs(campaign=campaign)[:RUNS_SHOWN], many=True).data


class CampaignCreateSerializer(serializers.Serializer):
    """A campaign as sent: its JSON types checked here, the rest by the campaigns service."""

    name = serializers.CharField(max_length=120)
    segment = serializers.IntegerField(help_text="the id of one of the brand's segments (`/segments`)")
    channel = serializers.ChoiceField(choices=Channel.choices)
    template = serializers.SlugField(
        max_length=64, help_text="the code of a message template of this channel (`/message-templates`)"
    )
    schedule = ScheduleSerializer(help_text="when it is sent")
    draft = serializers.BooleanField(
        default=False, help_text="true: kept as a draft (scheduled from the backoffice); false: scheduled now"
    )


def _campaign_data(request: Request) -> tuple[dict[str, Any], bool]:
    types = CampaignCreateSerializer(data=body_object(request))
    if not types.is_valid():
        raise exceptions.ValidationError(types.errors)
    body = types.validated_data
    schedule = body["schedule"]
    data = {
        "name": body["name"],
        "segment": body["segment"],
        "channel": body["channel"],
        "template_code": body["template"],
        "schedule": schedule["kind"],
        "send_at": schedule.get("at"),
        "weekdays": [WEEKDAYS.index(day) for day in schedule.get("weekdays", [])],
        "local_time": schedule.get("time"),
    }
    return data, body["draft"]


def _campaign_or_404(campaign_id: int) -> Campaign:
    return found_or_404(
        campaign_get(campaign_id=campaign_id),
        field="campaign_id",
        message=f"no campaign with id {campaign_id}",
    )


class CampaignListView(PagedApi, BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="campaigns_list",
        summary="Every campaign, latest first",
        description="The brand's campaigns, paged, each with its schedule, state and progress (every run "
        "together, counted from its messages) and its latest runs.",
        responses={200: CampaignSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.paginated(request, campaigns_list(), CampaignSerializer)

    @extend_schema(
        operation_id="campaigns_create",
        summary="Create a campaign",
        description="A template sent on a channel to a segment's members (resolved when it is sent): now, "
        "at a date, or every week on some days at a time of the brand's timezone. It is scheduled at "
        "once unless `draft` is true; `now` starts queuing its messages at once. Every message is checked "
        "as any other (consent, sending hours, caps): a member who cannot receive it has a message "
        "`skipped` with its reason, counted in the progress.",
        request=CampaignCreateSerializer,
        responses={
            201: CampaignSerializer,
            **error_responses(
                400,
                why={
                    400: "invalid campaign, nothing written: `error.field` names the field (`segment`: no "
                    "such segment in this brand; `template`: no template with this code on the channel; "
                    "`schedule.at`: missing or in the past; `schedule.weekdays`, `schedule.time`: missing "
                    "for a weekly campaign)"
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data, draft = _campaign_data(request)
        try:
            campaign = campaign_create(data=data, draft=draft)
        except InvalidInput as error:
            raise InvalidInput(
                {API_FIELDS.get(field, field): messages for field, messages in error.errors.items()}
            ) from None
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignView(BrandApi, APIView):
    api_scope = "messaging"

    @extend_schema(
        operation_id="campaigns_get",
        summary="A campaign and its progress",
        description="The campaign with its progress while it runs and after: messages queued, sent, "
        "delivered, failed, skipped (by reason) and cancelled, for every run together and for each of "
        f"its latest {RUNS_SHOWN} runs.",
        parameters=[CAMPAIGN_ID],
        responses={200: CampaignSerializer, **error_responses(404, why=NOT_FOUND)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(CampaignSerializer(_campaign_or_404(campaign_id)).data)


ACTIONS = {
    "pause": (
        campaign_pause,
        "Pause a campaign",
        "Stops queuing its members and holds its messages not sent yet; a scheduled campaign starts no "
        "run while paused. Refused (409) unless it is scheduled or running.",
    ),
    "resume": (
        campaign_resume,
        "Resume a paused campaign",
        "Goes on where it stopped: the members not queued yet are, the messages held are sent (the "
        "sending hours still apply). Refused (409) unless it is paused.",
    ),
    "cancel": (
        campaign_cancel,
        "Cancel a campaign",
        "Stops it for good: no further run, and every message not sent yet is marked `cancelled` (one "
        "already with the provider goes). Refused (409) when it is cancelled already.",
    ),
}


def _action_view(action: str) -> type[APIView]:
    service, summary, description = ACTIONS[action]

    class ActionView(BrandApi, APIView):
        api_scope = "messaging"

        @extend_schema(
            operation_id=f"campaigns_{action}",
            summary=summary,
            description=description,
            parameters=[CAMPAIGN_ID],
            request=None,
            responses={
                200: CampaignSerializer,
                **error_responses(
                    404,
                    409,
                    codes={409: ["campaign_state"]},
                    why={**NOT_FOUND, 409: "the campaign's state does not allow it (`error.field`: `state`)"},
                ),
            },
        )
        def post(self, request: Request, campaign_id: int) -> Response:
            campaign = service(campaign_id=_campaign_or_404(campaign_id).pk)
            return Response(CampaignSerializer(campaign).data)

    ActionView.__name__ = ActionView.__qualname__ = f"Campaign{action.title()}View"
    return ActionView


CampaignPauseView = _action_view("pause")
CampaignResumeView = _action_view("resume")
CampaignCancelView = _action_view("cancel")
