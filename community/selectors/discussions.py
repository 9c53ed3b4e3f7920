"""Discussions as a member or a visitor may read them (README "Community > Discussions").

Who sees what: a thread in a club space only for who may enter the space now
(`clubs.selectors.space_may_enter`), a thread of no space for everyone; of those, the published
threads and replies, plus the reader's own held or rejected ones (with their state and reason).
A thread the reader may not see is answered as a missing one."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from clubs.models import Space, SpaceGrant
from clubs.selectors import space_may_enter, spaces_for
from community.models import ModerationState, Reply, Thread
from loyalty.models import Member


def spaces_entered(*, member: Member | None) -> frozenset[int]:
    """The ids of the club spaces that hold threads and that the member may enter (none for a
    visitor). Their code grants are read once."""
    if member is None:
        return frozenset()
    granted = frozenset(SpaceGrant.objects.filter(member=member).values_list("space_id", flat=True))
    spaces = Space.objects.filter(pk__in=Thread.objects.values("space_id")).select_related("tier", "segment")
    return frozenset(
        space.pk for space in spaces if space_may_enter(space=space, member=member, granted=granted)
    )


def _seen_by(member: Member | None) -> Q:
    """Published, or written by the member."""
    published = Q(state=ModerationState.PUBLISHED)
    return published | Q(member=member) if member is not None else published


def threads_visible(
    *,
    member: Member | None,
    space: Space | None = None,
    kind: str = "",
    entered: frozenset[int] | None = None,
) -> QuerySet[Thread]:
    """The threads the reader may see, pinned first then by last activity, with their count of
    published replies (`replies_published`). `space`: that space's only (none when the reader may
    not enter it); None: every thread the reader may see, of any space or none."""
    entered = spaces_entered(member=member) if entered is None else entered
    threads = Thread.objects.filter(_seen_by(member))
    if space is not None:
        threads = threads.filter(space=space) if space.pk in entered else threads.none()
    else:
        threads = threads.filter(Q(space__isnull=True) | Q(space__in=entered))
    if kind:
        threads = threads.filter(kind=kind)
    return (
        threads.select_related("space", "member")
        .annotate(replies_published=Count("replies", filter=Q(replies__state=ModerationState.PUBLISHED)))
        .order_by("-is_pinned", "-last_activity_at", "-id")  # a GROUP BY drops Meta.ordering
    )


def thread_for(*, thread_id: int, member: Member | None) -> Thread | None:
    """The thread, if the reader may see it."""
    thread = Thread.objects.filter(_seen_by(member), pk=thread_id).select_related("space", "member").first()
    if thread is None:
        return None
    if thread.space is not None and not space_may_enter(space=thread.space, member=member):
        return None
    return thread


def thread_may_write(
    *, thread: Thread | None = None, space: Space | None = None, member: Member | None
) -> bool:
    """Whether the member may write in the space (a thread's, or a new thread's): an active member
    who may enter it."""
    space = thread.space if thread is not None else space
    if member is None or member.status != Member.Status.ACTIVE:
        return False
    return space is None or space_may_enter(space=space, member=member)


def replies_visible(*, thread: Thread, member: Member | None) -> QuerySet[Reply]:
    """The thread's replies the reader may see, oldest first (the thread itself checked already)."""
    return thread.replies.filter(_seen_by(member)).select_related("member")


def thread_spaces(*, member: Member | None) -> list[Space]:
    """The active club spaces the member may enter, to write in or filter by."""
    return sorted((view.space for view in spaces_for(member=member) if view.may_enter), key=lambda s: s.name)


def threads_of(*, member: Member) -> QuerySet[Thread]:
    return Thread.objects.filter(member=member).order_by("created_at", "id")


def replies_of(*, member: Member) -> QuerySet[Reply]:
    return Reply.objects.filter(member=member).select_related("thread").order_by("created_at", "id")
