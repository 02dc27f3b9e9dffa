"""The Django project of the MAUS Online web front-end: settings, URLs and the WSGI entry point.

It serves one app, ``dashboard``; see docs/webfrontend.md.
"""
