"""The reducer contract: what the merge side relies on from every reducer, as pytest tests.

The project's suite runs them on its own reducers (tests/test_reducer_contract.py). A plug-in
author runs them on the reducers of an installed package (docs/modules.md)::

    python -m reducers.contract maus_example          # the reducers of package maus_example
    python -m reducers.contract                       # every registered reducer
    python -m reducers.contract maus_example -k split # any pytest option after the package
    python -m reducers.contract maus_example --maus-transformer "MapPyGroup(..., MapPyTOFBeta)"

The spills the reducers are given come from the default transform chain, or from the one
given with ``--maus-transformer`` when a reducer reads what a map of its own package makes.

It needs the test extra (``pip install 'maus-online[test]'``: pytest, jsonschema). The tests
are in :mod:`reducers.contract.tests`; this package itself imports nothing heavy, so that
pytest starts before the reducers (and their plug-ins) are imported.
"""
from __future__ import annotations

#: The pytest option (``--maus-package NAME``) that limits the contract to one package.
PACKAGE_OPTION = "maus_package"
#: The pytest option (``--maus-transformer SPEC``) that names the chain making the spills.
TRANSFORMER_OPTION = "maus_transformer"
