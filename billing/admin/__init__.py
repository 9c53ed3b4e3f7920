"""The billing backoffice (Django admin at /backoffice/), one module per area."""

from . import plans  # noqa: F401 - registration side effects
