"""Sales reps: the brand's staff users (a member's `sales_rep` is a staff user of the brand's schema;
rules paying reps credit the rep's own member account, `staff:<username>`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db.models import Count, Q, QuerySet

from core.errors import InvalidInput


def sales_reps() -> QuerySet[AbstractUser]:
    """The brand's active staff users, who can be sales reps, each with `members`: how many
    members they look after."""
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .annotate(members=Count("portfolio"))
        .order_by("email", "username")
    )


def sales_rep_find(*, name: str) -> AbstractUser:
    """The staff user of the brand whose username is `name`, or whose e-mail it is (in any case);
    else InvalidInput on `sales_rep`, saying why."""
    users = list(
        get_user_model().objects.filter(Q(username=name) | Q(email__iexact=name)).order_by("-is_staff")[:3]
    )
    exact = [user for user in users if user.get_username() == name]
    found = exact or users
    if not found:
        raise InvalidInput(
            f"no user '{name}' in this brand: give a staff user's e-mail or username", field="sales_rep"
        )
    if len(found) > 1:
        raise InvalidInput(f"several users have the e-mail '{name}': give the username", field="sales_rep")
    user = found[0]
    if not (user.is_staff and user.is_active):
        raise InvalidInput(
            f"'{name}' is not an active staff user of this brand, so cannot be a sales rep", field="sales_rep"
        )
    return user
