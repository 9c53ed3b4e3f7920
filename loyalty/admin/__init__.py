"""The loyalty backoffice (Django admin at /backoffice/), one module per area."""

from . import members, offers, programme, rules  # noqa: F401 - registration side effects
