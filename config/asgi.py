"""The ASGI app that granian serves (`platform/run.py`): every page, and live help's event streams
(community/live/stream.py)."""

import gc
import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: its database statements are bounded (DATABASE_STATEMENT_TIMEOUT, config/settings.py).
os.environ["LOYALTY_PROCESS"] = "web"

import django
from django.conf import settings

# Under ASGI Django runs each request's synchronous code in a thread of its own, which ends with the
# request: a connection kept for CONN_MAX_AGE would outlive its thread, never reused nor closed. So
# connections come from a pool of the process (psycopg_pool, Django's "pool" option) and go back to
# it at each request's end. A new connection per request cost 10-12 ms more per page here (granian,
# 1 worker, 200 sequential requests of three member pages: p50 31.1 ms against 20.8 ms pooled and
# 17.7 ms under WSGI with kept connections), and lost the statements prepared on it. A pooled
# connection is closed after DATABASE_POOL_MAX_LIFETIME seconds, which bounds what its PostgreSQL
# backend caches of the brands' schemas it touched (README "Web server").
for database in settings.DATABASES.values():
    database["CONN_MAX_AGE"] = 0
    database["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "8")),
        "max_lifetime": float(os.environ.get("DATABASE_POOL_MAX_LIFETIME", "600")),
        "max_idle": 300.0,
        # A request waits this long for a free connection, then fails (a 500 logged) rather than hang.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
    }

django.setup(set_prefix=False)

from django.core.handlers.asgi import ASGIHandler  # noqa: E402

# WhiteNoise's static files are file responses Django reads whole under ASGI before sending them
# (they are small); it warns about each such response, which is expected here.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

application = ASGIHandler()
# What loading the app allocated lives as long as the worker: kept out of the garbage collector's
# full scans (config/wsgi.py says what it saved).
gc.freeze()
