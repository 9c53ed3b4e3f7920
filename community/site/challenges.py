"""The member site's challenges (README "Community > Challenges"): `/community/challenges/`, the
running challenges with the member's progress and the bonus each pays, and the challenges they
completed. Visitors see the challenges open to every member. The member's dashboard shows the same
progress (`{% include "community/site/challenges/_progress.html" %}`, `community_challenges`)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from catalog.views import site_member
from community.selectors.challenges import challenge_completions_of, challenges_for

COMPLETIONS_SHOWN = 20


def challenge_list(request: HttpRequest) -> HttpResponse:
    member = site_member(request)
    return render(
        request,
        "community/site/challenges/list.html",
        {
            "items": challenges_for(member=member),
            "completions": challenge_completions_of(member=member)[:COMPLETIONS_SHOWN] if member else [],
            "member": member,
            "login_url": redirect_to_login(request.get_full_path()).url,
        },
    )


urlpatterns = [path("community/challenges/", challenge_list, name="community-challenges")]
