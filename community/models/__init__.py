"""The community (README "Community (issue 17)"): reviews and their moderation, contributions that
earn, questions and answers with helpers, live help, discussions, challenges, draws, club services
and points auctions. One module per part; `moderation` holds what every written text shares."""

from .auctions import Auction, AuctionState, Bid, BidState
from .challenges import Challenge, ChallengeCompletion
from .club_services import ClubService, ServiceRequest, ServiceRequestState
from .contributions import Contribution, ContributionPhoto, ContributionState, ContributionType
from .discussions import Reply, Thread
from .draws import Draw, DrawEntry, DrawState, DrawWinner
from .live import Conversation, ConversationMessage, ConversationState, Helper
from .moderation import (
    CommunitySettings,
    Moderated,
    ModerationState,
    ModerationTerm,
    RejectionReason,
    TermCategory,
)
from .qa import Answer, Question
from .reviews import FollowUp, FollowUpState, Review, ReviewInvitation, ReviewReport, Subject, SubjectKind

__all__ = [
    "Answer",
    "Auction",
    "AuctionState",
    "Bid",
    "BidState",
    "Challenge",
    "ChallengeCompletion",
    "ClubService",
    "CommunitySettings",
    "Contribution",
    "ContributionPhoto",
    "ContributionState",
    "ContributionType",
    "Conversation",
    "ConversationMessage",
    "ConversationState",
    "Draw",
    "DrawEntry",
    "DrawState",
    "DrawWinner",
    "FollowUp",
    "FollowUpState",
    "Helper",
    "Moderated",
    "ModerationState",
    "ModerationTerm",
    "Question",
    "RejectionReason",
    "Reply",
    "Review",
    "ReviewInvitation",
    "ReviewReport",
    "ServiceRequest",
    "ServiceRequestState",
    "Subject",
    "SubjectKind",
    "TermCategory",
    "Thread",
]
