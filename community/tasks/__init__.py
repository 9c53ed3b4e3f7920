"""The community's Celery tasks (found by `autodiscover_tasks`): the parts that have some."""

from . import auctions, challenges, draws, live, reviews

__all__ = ["auctions", "challenges", "draws", "live", "reviews"]
