"""One simulated spill through the default chain and MapPyTOFBeta.

Run it once maus_example is installed:  python docs/examples/try_beta.py
"""
from __future__ import annotations

from maus_online.configuration import default_configuration
from maus_online.registry import build_default_registry
from maus_online.specification import build_transform, parse_specification

config = default_configuration({"particles_per_spill": 6, "random_seed": 3})
# Built as go.py builds it: every name is looked up in the registry, which found the new
# map through the entry points of maus_example.
specification = parse_specification(f"MapPyGroup({config['transformer']}, MapPyTOFBeta)")
chain = build_transform(specification, build_default_registry())
chain.birth(config)
spill = chain.process({"maus_event_type": "Spill", "daq_event_type": "physics_event",
                       "run_number": 1, "spill_number": 1, "errors": {}})
chain.death()
print("errors:", spill["errors"])
for event, speed in zip(spill["recon_events"], spill["tof_beta"], strict=True):
    print(f"{event['tof_pid']['hypothesis']:<4} beta = {speed:.3f}")
