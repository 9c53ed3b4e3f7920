"""The brand API's reviews routes (scope `community`), under `/api/v1/community/`: the reviewed
items (list, create, change: `community.services.reviews.subject_save`, the backoffice's
validation) and the published reviews of one item (read). Thin."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from community.models import ModerationState, Review, Subject, SubjectKind
from community.models.reviews import NAME_MAX_LENGTH, REFERENCE_MAX_LENGTH
from community.services.reviews import subject_save
from core.api.base import BrandApi, found_or_404
from core.api.pagination import PagedApi
from core.api.schema import error_responses
from loyalty.selectors.leaderboard import leaderboard_name

PUBLISHED = Q(reviews__state=ModerationState.PUBLISHED)
NO_SUBJECT = {404: "no reviewed item with this id (`error.field`: `subject_id`)"}
SUBJECT_400 = {
    400: "a field is missing or invalid (a kind, a reference already taken by another item of its "
    "kind, a name too long): `error.field` names it; nothing written"
}
SUBJECT_ID = OpenApiParameter("subject_id", int, OpenApiParameter.PATH, description="the item's id")


def _subjects() -> QuerySet[Subject]:
    return Subject.objects.annotate(
        review_count=Count("reviews", filter=PUBLISHED),
        average_rating=Avg("reviews__rating", filter=PUBLISHED),
    ).order_by("name", "pk")


class SubjectSerializer(serializers.ModelSerializer):
    review_count = serializers.IntegerField(help_text="its published reviews")
    average_rating = serializers.SerializerMethodField(help_text="their average, 1 decimal; null when none")
    image_url = serializers.SerializerMethodField(help_text="its picture's address; null when none")

    class Meta:
        model = Subject
        fields = [
            "id",
            "kind",
            "reference",
            "name",
            "description",
            "image_url",
            "is_active",
            "review_count",
            "average_rating",
            "created_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "reference": {
                "help_text": "the brand's own id, as purchase events name it (sku, service, place)"
            },
            "is_active": {"help_text": "listed: shown on the site and open to reviews"},
        }

    def get_image_url(self, subject: Subject) -> str | None:
        return subject.image_url or None

    def get_average_rating(self, subject: Subject) -> float | None:
        value = getattr(subject, "average_rating", None)
        return None if value is None else round(float(value), 1)


class SubjectWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=SubjectKind.choices, required=False, help_text="product by default"
    )
    reference = serializers.CharField(max_length=REFERENCE_MAX_LENGTH)
    name = serializers.CharField(max_length=NAME_MAX_LENGTH)
    description = serializers.CharField(required=False, allow_blank=True)
    image_url = serializers.URLField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class SubjectFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubjectKind.choices, required=False, help_text="only this kind")
    is_active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="only the listed ones (or not)"
    )


class ReviewSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField(help_text="the member's public name, as the site shows it")
    member = serializers.CharField(source="member.external_id", help_text="the member's external id")
    certified = serializers.BooleanField(help_text="the member had a purchase of this item")

    class Meta:
        model = Review
        fields = [
            "id",
            "rating",
            "title",
            "text",
            "language",
            "experienced_on",
            "certified",
            "member",
            "author",
            "reply",
            "replied_at",
            "published_at",
            "created_at",
            "edited_at",
        ]
        read_only_fields = fields

    def get_author(self, review: Review) -> str | None:
        return leaderboard_name(member=review.member)


class CommunityApi(BrandApi, PagedApi, APIView):
    api_scope = "community"


def _subject_or_404(subject_id: int) -> Subject:
    subject = Subject.objects.filter(pk=subject_id).first()
    return found_or_404(subject, field="subject_id", message=f"no reviewed item with id {subject_id}")


def _subject_answer(subject_id: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    subject = _subjects().filter(pk=subject_id).first()
    subject = found_or_404(subject, field="subject_id", message=f"no reviewed item with id {subject_id}")
    return Response(SubjectSerializer(subject).data, status=status_code)


def _body(request: Request, *, partial: bool) -> dict[str, Any]:
    body = SubjectWriteSerializer(data=request.data, partial=partial)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class SubjectListView(CommunityApi):
    @extend_schema(
        operation_id="community_subjects_list",
        summary="The reviewed items (products, services, points of sale)",
        description="Every item members review, listed or not, with its published reviews' count and "
        "average, by name, paged with `limit` and `offset`; `kind` and `is_active` filter.",
        parameters=[SubjectFilterSerializer],
        responses={
            200: SubjectSerializer(many=True),
            **error_responses(400, why={400: "a filter is invalid: `error.field` names it"}),
        },
    )
    def get(self, request: Request) -> Response:
        filters = SubjectFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        wanted = {name: value for name, value in filters.validated_data.items() if value is not None}
        return self.paginated(request, _subjects().filter(**wanted), SubjectSerializer)

    @extend_schema(
        operation_id="community_subjects_create",
        summary="List an item to review",
        description="A product (by its SKU), a service or a point of sale (by its code), as the "
        "brand's purchase events name it: their reviews are certified by those purchases.",
        request=SubjectWriteSerializer,
        responses={201: SubjectSerializer, **error_responses(400, why=SUBJECT_400)},
    )
    def post(self, request: Request) -> Response:
        subject = subject_save(data=_body(request, partial=False))
        return _subject_answer(subject.pk, status_code=status.HTTP_201_CREATED)


class SubjectDetailView(CommunityApi):
    @extend_schema(
        operation_id="community_subjects_retrieve",
        summary="One reviewed item",
        parameters=[SUBJECT_ID],
        responses={200: SubjectSerializer, **error_responses(404, why=NO_SUBJECT)},
    )
    def get(self, request: Request, subject_id: int) -> Response:
        return _subject_answer(subject_id)

    @extend_schema(
        operation_id="community_subjects_update",
        summary="Change some fields of a reviewed item",
        description='Only the fields sent change (`{"is_active": false}` takes it off the site and '
        "closes it to reviews; its reviews are kept).",
        parameters=[SUBJECT_ID],
        request=SubjectWriteSerializer(partial=True),
        responses={200: SubjectSerializer, **error_responses(400, 404, why={**SUBJECT_400, **NO_SUBJECT})},
    )
    def patch(self, request: Request, subject_id: int) -> Response:
        _subject_or_404(subject_id)
        subject_save(data=_body(request, partial=True), subject_id=subject_id)
        return _subject_answer(subject_id)


class SubjectReviewsView(CommunityApi):
    @extend_schema(
        operation_id="community_subjects_reviews_list",
        summary="The published reviews of one item, newest first",
        description="Only published reviews (held and rejected ones are not public), with the brand's "
        "reply, paged with `limit` and `offset`.",
        parameters=[SUBJECT_ID],
        responses={200: ReviewSerializer(many=True), **error_responses(404, why=NO_SUBJECT)},
    )
    def get(self, request: Request, subject_id: int) -> Response:
        subject = _subject_or_404(subject_id)
        reviews = (
            Review.objects.filter(subject=subject, state=ModerationState.PUBLISHED)
            .select_related("member")
            .order_by("-published_at", "-pk")
        )
        return self.paginated(request, reviews, ReviewSerializer)


urlpatterns = [
    path("community/subjects", SubjectListView.as_view(), name="api-community-subjects"),
    path("community/subjects/<int:subject_id>", SubjectDetailView.as_view(), name="api-community-subject"),
    path(
        "community/subjects/<int:subject_id>/reviews",
        SubjectReviewsView.as_view(),
        name="api-community-subject-reviews",
    ),
]
