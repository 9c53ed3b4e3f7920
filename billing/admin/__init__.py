"""The billing backoffice (Django admin at /backoffice/), one module per area."""

from . import plans, subscriptions  # noqa: F401 - registration side effects
