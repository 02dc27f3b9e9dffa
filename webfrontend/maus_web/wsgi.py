"""The WSGI entry point: ``maus_web.wsgi.application`` (runserver, mod_wsgi, any WSGI server).

Settings come from the environment (see ``maus_web/settings.py``); with ``DEBUG`` off,
``MAUS_WEB_SECRET_KEY`` must be set, or the first request fails with a message saying so.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maus_web.settings")

application = get_wsgi_application()
