"""The ASGI app that granian serves (`platform/run.py`): every page, and live help's event streams
(community/live/stream.py)."""

import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: its database statements are bounded (DATABASE_STATEMENT_TIMEOUT, config/settings.py).
os.environ["LOYALTY_PROCESS"] = "web"

import django

django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

# Under ASGI Django runs each request's synchronous code in a thread of its own, which ends with the
# request: a connection kept for CONN_MAX_AGE would outlive its thread, never reused nor closed.
# Closed at each request's end instead (set before any connection is made).
for database in settings.DATABASES.values():
    database["CONN_MAX_AGE"] = 0

# WhiteNoise's static files are file responses Django reads whole under ASGI before sending them
# (they are small); it warns about each such response, which is expected here.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

application = ASGIHandler()
