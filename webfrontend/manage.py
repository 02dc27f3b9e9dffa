#!/usr/bin/env python
"""Django's command line for the MAUS Online web front-end (docs/webfrontend.md).

    export MAUS_WEB_SECRET_KEY=...      # or MAUS_WEB_DEBUG=1 for development
    MAUS_IMAGE_DIRECTORY=images python webfrontend/manage.py runserver 127.0.0.1:8000

Python puts this file's directory first on ``sys.path``, which is how ``maus_web`` (the
project) and ``dashboard`` (the app) are found when running from the source tree.
"""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maus_web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
