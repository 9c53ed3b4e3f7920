"""What the public sees of the reviews (README "Community > Review pages"): the subjects with their
average, a subject's rating summary and its published reviews in the reader's language first, a
member's own review, and the public ratings JSON the brand's own web site shows.

Only `published` reviews count and show; the author alone sees their held or rejected one
(`review_own`).

A subject's rating summary (count, average, distribution, certified count) is counted in the query
that finds the subject (`subject_find`: its reviews through the index `review_subject_published`),
and with it a stamp of all its reviews: their number and the latest `updated_at`. The latest three
(the JSON's, with their authors' names) are cached in the brand's cache keys (the cache's key
function carries the schema) under a key naming that stamp: a review written, edited, published,
rejected, replied to or deleted changes it, so the next reader reads them again: nothing to
invalidate. (A bulk `QuerySet.update()` of reviews that does not set `updated_at` is not seen
until the key expires, an hour later.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Avg, Case, Count, IntegerField, Max, Q, QuerySet, Value, When
from django.utils.translation import get_language_info, gettext

from community.models import ModerationState, Review, Subject, SubjectKind
from loyalty.models import Member
from loyalty.selectors.leaderboard import leaderboard_name

LATEST_CACHE_SECONDS = 3600
LATEST_COUNT = 3
LATEST_TEXT_LENGTH = 200
STARS = (5, 4, 3, 2, 1)
PUBLISHED = Q(state=ModerationState.PUBLISHED)
PUBLISHED_REVIEW = Q(reviews__state=ModerationState.PUBLISHED)  # from a subject


def whole_stars(average: Decimal | None) -> int:
    """An average rounded to whole stars (0 without reviews)."""
    return int(average.quantize(Decimal("1"), rounding=ROUND_HALF_UP)) if average else 0


@dataclass(frozen=True)
class LatestReview:
    """A short published review, as the ratings JSON lists it."""

    rating: int
    title: str
    text: str
    author: str
    certified: bool
    language: str
    published_on: date

    def as_json(self) -> dict[str, Any]:
        return {
            "rating": self.rating,
            "title": self.title,
            "text": self.text,
            "author": self.author,
            "certified": self.certified,
            "language": self.language,
            "published_on": self.published_on.isoformat(),
        }


@dataclass(frozen=True)
class RatingSummary:
    """A subject's published reviews in figures. `average` has one decimal (None without reviews)."""

    count: int
    average: Decimal | None
    distribution: dict[int, int]
    certified_count: int
    latest: tuple[LatestReview, ...]

    @property
    def stars(self) -> int:
        return whole_stars(self.average)

    def bars(self) -> list[tuple[int, int, int]]:
        """(stars, count, percent of the reviews) from 5 stars down to 1, for the distribution."""
        return [
            (
                stars,
                self.distribution[stars],
                round(100 * self.distribution[stars] / self.count) if self.count else 0,
            )
            for stars in STARS
        ]


@dataclass(frozen=True)
class SubjectRating:
    subject: Subject
    count: int
    average: Decimal | None

    @property
    def stars(self) -> int:
        return whole_stars(self.average)


@dataclass(frozen=True)
class ReviewShown:
    """A published review as its subject's page shows it: the author's public name, its language's
    name in the reader's language, and whether it is in the reader's language."""

    review: Review
    author: str
    language_name: str
    in_reader_language: bool


@dataclass(frozen=True)
class ReviewsPage:
    items: list[ReviewShown]
    number: int
    pages: int

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def _one_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def author_name(review: Review) -> str:
    """The author's public name (`leaderboard_name`), or "A member" when they gave none."""
    return leaderboard_name(member=review.member) or gettext("A member")


def subjects_listed(*, kind: str = "") -> QuerySet[Subject]:
    """The listed subjects (of one kind if given, ignored when not a kind), by name: paginate them,
    then `subject_ratings` counts a page's reviews."""
    subjects = Subject.objects.filter(is_active=True)
    return subjects.filter(kind=kind) if kind in SubjectKind.values else subjects


def subject_ratings(*, subjects: list[Subject]) -> list[SubjectRating]:
    """The number and average of the published reviews of each of `subjects` (a page of them),
    in one grouped query on the index `review_subject_figures`."""
    figures = {
        row["subject"]: row
        for row in Review.objects.filter(PUBLISHED, subject__in=subjects)
        .order_by()
        .values("subject")
        .annotate(count=Count("pk"), average=Avg("rating"))
    }
    none: dict[str, Any] = {"count": 0, "average": None}
    return [
        SubjectRating(
            subject=subject,
            count=figures.get(subject.pk, none)["count"],
            average=_one_decimal(figures.get(subject.pk, none)["average"]),
        )
        for subject in subjects
    ]


def subject_find(*, kind: str, reference: str) -> Subject | None:
    """The listed subject `kind`/`reference` (None when unknown or no longer listed), with, in the
    same query, the figures of its published reviews (`rating_summary` reads them) and the stamp of
    all its reviews (`reviews_total`, `reviews_changed`) that keys its cached latest reviews."""
    return (
        Subject.objects.filter(kind=kind, reference=reference, is_active=True)
        .annotate(
            reviews_total=Count("reviews"),
            reviews_changed=Max("reviews__updated_at"),
            published_count=Count("reviews", filter=PUBLISHED_REVIEW),
            published_average=Avg("reviews__rating", filter=PUBLISHED_REVIEW),
            certified_count=Count(
                "reviews", filter=PUBLISHED_REVIEW & Q(reviews__certified_event__isnull=False)
            ),
            **{
                f"rated_{stars}": Count("reviews", filter=PUBLISHED_REVIEW & Q(reviews__rating=stars))
                for stars in STARS
            },
        )
        .first()
    )


def _latest_key(subject: Subject) -> str:
    changed: datetime | None = getattr(subject, "reviews_changed", None)
    stamp = f"{getattr(subject, 'reviews_total', 0)}:{changed.timestamp() if changed else 0}"
    return f"community:ratings-latest:{subject.pk}:{stamp}"


def _latest(subject: Subject) -> tuple[LatestReview, ...]:
    rows = (
        Review.objects.filter(PUBLISHED, subject=subject)
        .select_related("member")
        .order_by("-published_at", "-id")[:LATEST_COUNT]
    )
    return tuple(
        LatestReview(
            rating=review.rating,
            title=review.title,
            text=review.text
            if len(review.text) <= LATEST_TEXT_LENGTH
            else review.text[: LATEST_TEXT_LENGTH - 1] + "…",
            author=author_name(review),
            certified=review.certified,
            language=review.language,
            published_on=(review.published_at or review.created_at).date(),
        )
        for review in rows
    )


def rating_summary(*, subject: Subject) -> RatingSummary:
    """The figures of the subject's published reviews and the latest three (cached: the module's
    docstring says how). `subject` comes from `subject_find`, which counted them."""
    key = _latest_key(subject)
    latest = cache.get(key)
    if latest is None:
        latest = _latest(subject)
        cache.set(key, latest, LATEST_CACHE_SECONDS)
    figures = vars(subject)  # subject_find's annotations
    return RatingSummary(
        count=figures["published_count"],
        average=_one_decimal(figures["published_average"]),
        distribution={stars: figures[f"rated_{stars}"] for stars in STARS},
        certified_count=figures["certified_count"],
        latest=latest,
    )


def ratings_public(*, kind: str, reference: str) -> dict[str, Any] | None:
    """The public ratings JSON of the subject `kind`/`reference` (None when not listed): the
    average is a number with one decimal (null without reviews), the distribution counts by rating
    "1" to "5", `latest` the three latest published reviews, shortened."""
    subject = subject_find(kind=kind, reference=reference)
    if subject is None:
        return None
    summary = rating_summary(subject=subject)
    return {
        "reference": subject.reference,
        "kind": subject.kind,
        "name": subject.name,
        "count": summary.count,
        "average": float(summary.average) if summary.average is not None else None,
        "distribution": {str(stars): summary.distribution[stars] for stars in sorted(STARS)},
        "certified_count": summary.certified_count,
        "latest": [item.as_json() for item in summary.latest],
    }


def _language_name(code: str) -> str:
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def subject_reviews(*, subject: Subject, language: str, page: int, per_page: int, count: int) -> ReviewsPage:
    """A page of the subject's published reviews: those in the reader's `language` first, then the
    others, each group newest first. `count` is the number of published reviews (the summary's);
    a page out of range gives the nearest one."""
    pages = max(1, -(-count // per_page))
    number = min(max(1, page), pages)
    reader_first = Case(When(language=language, then=Value(0)), default=Value(1), output_field=IntegerField())
    # The page's ids first, ordered from the index `review_subject_figures` alone; then their rows.
    ids = list(
        Review.objects.filter(PUBLISHED, subject=subject)
        .order_by(reader_first, "-published_at", "-id")
        .values_list("pk", flat=True)[(number - 1) * per_page : number * per_page]
    )
    by_id = Review.objects.select_related("member").in_bulk(ids)
    rows = [by_id[pk] for pk in ids if pk in by_id]
    names: dict[str, str] = {}
    items = []
    for review in rows:
        if review.language not in names:
            names[review.language] = _language_name(review.language) if review.language else ""
        items.append(
            ReviewShown(
                review=review,
                author=author_name(review),
                language_name=names[review.language],
                in_reader_language=review.language == language,
            )
        )
    return ReviewsPage(items=items, number=number, pages=pages)


def review_own(*, member: Member, subject: Subject) -> Review | None:
    """The member's own review of the subject, whatever its state (they see held and rejected)."""
    return Review.objects.filter(member=member, subject=subject).first()
