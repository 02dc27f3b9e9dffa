"""The MAUS Online dashboard: a Django app that reads the image directory (docs/webfrontend.md).

The logic lives in plain modules without Django (``image_store``, ``search``, ``layout``,
``histograms``, ``payloads``); ``views`` is the thin edge that turns requests into calls of them.
"""
