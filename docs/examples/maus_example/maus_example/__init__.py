"""MAUS Online extension example: the speed of each beam particle from its time of flight.

* :class:`maus_example.maps.MapPyTOFBeta` adds ``tof_beta`` to each reconstructed spill;
* :class:`maus_example.plots.ReducePyTOFBeta` histograms it.

Both reach go.py and the workers through the ``maus_online.modules`` entry points declared
in this package's ``pyproject.toml`` (docs/tutorial.md walks through it).
"""
