import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process: its database statements are bounded (DATABASE_STATEMENT_TIMEOUT, config/settings.py).
os.environ["LOYALTY_PROCESS"] = "web"
application = get_asgi_application()
