"""The demo brands' moderation: seeded once (a second `make run` changes nothing), its words hold
(and its allowed one does not), and its rejection message tells the author the reason and note."""

from __future__ import annotations

from community.demo.moderation import TERMS, seed
from community.models import CommunitySettings, ModerationState, ModerationTerm
from community.services.moderation import moderation_decide
from messaging.models import Message, Trigger
from tests.community.factories import review_write
from tests.factories import member_make


def test_the_demo_words_settings_and_message_are_seeded_once(in_a, django_capture_on_commit_callbacks):
    seed(slug="grand-cru")
    seed(slug="grand-cru")
    assert ModerationTerm.objects.count() == len(TERMS["grand-cru"])
    assert CommunitySettings.objects.get(pk=1).moderation_delay_days == 5
    assert Trigger.objects.filter(kind="community_rejected", is_active=True).count() == 1

    assert review_write("Une piquette de merde", language="fr").state == ModerationState.HELD
    assert review_write("Le Bouffon 2019, superbe", language="fr").state == ModerationState.PUBLISHED
    assert review_write("Conseillé par le Sommelier Dubreuil", language="fr").state == ModerationState.HELD

    author = member_make(first_name="Claire", email="claire@example.com", language="en")
    review = review_write("what a moron", member=author)
    with django_capture_on_commit_callbacks(execute=True):
        moderation_decide(obj=review, publish=False, user=None, reason="insult", note="No insults, please.")
    message = Message.objects.get(trigger="community_rejected", member=author)
    assert "Insulting or abusive language" in message.body and "No insults, please." in message.body
    assert "/community/rules/" in message.body and "{{" not in message.body
