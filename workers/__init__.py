"""Celery workers for MAUS Online: the app, the ``execute_transform`` task, broadcast handling.

Empty until the Celery issue lands; ``maus_online`` never imports this package.
"""
