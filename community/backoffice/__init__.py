"""The backoffice's community pages that are not a model's list (the moderation queue, the review
trends), one module per part, under /backoffice/community/."""
