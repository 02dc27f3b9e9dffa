"""The reducer contract (reducers/contract.py) on every reducer this project registers.

A reducer added through the ``maus_online.modules`` entry points is picked up here by itself;
a plug-in author runs the same tests on an installed package with ``python -m
reducers.contract PACKAGE`` (test_tutorial.py runs it on the tutorial's package).
"""
from __future__ import annotations

from reducers.contract.tests import (  # noqa: F401 - pytest collects them from this module
    TestHistogramReducerContract,
    TestReducerContract,
    pytest_generate_tests,
    spills,
)
