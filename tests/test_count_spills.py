"""ReducePyCountSpills: counts per run, reported once at end_of_run."""
from __future__ import annotations

from reducers import MODULES, ReducePyCountSpills
from tests.conftest import skeleton


def with_errors(spill: dict, **errors: list[str]) -> dict:
    spill["errors"] = errors
    return spill


def run(reducer: ReducePyCountSpills, spills: list[dict]) -> list[list[dict]]:
    return [reducer.process(spill) for spill in spills]


def test_exports() -> None:
    assert MODULES == (ReducePyCountSpills,)


def test_counts_are_reported_at_end_of_run_only() -> None:
    reducer = ReducePyCountSpills()
    reducer.birth({})
    outputs = run(reducer, [
        skeleton(5, 0, "start_of_run"),
        skeleton(5, 1),
        with_errors(skeleton(5, 2), MapPyTOFDigits=["a", "b"], MapPyTOFSlabHits=["c"]),
        with_errors(skeleton(5, 3), MapPyTOFDigits=["d"], MapPyOther=[]),
        {"maus_event_type": "Spill", "errors": {"InputPyJSON": ["f line 9: not valid JSON"]}},
        skeleton(5, 4),
        skeleton(5, 5, "end_of_run"),
    ])
    assert outputs[:-1] == [[]] * 6
    assert outputs[-1] == [{"maus_event_type": "SpillCount", "run_number": 5, "spills": 4,
                            "spills_with_errors": 3,
                            "errors_by_module": {"MapPyTOFDigits": 3, "MapPyTOFSlabHits": 1,
                                                 "InputPyJSON": 1}}]


def test_state_is_reset_at_birth() -> None:
    # The merge side births the reducers at every run (test_merge.py): that is the reset.
    reducer = ReducePyCountSpills()
    reducer.birth({})
    run(reducer, [skeleton(1, 1), with_errors(skeleton(1, 2), MapPyX=["x"])])
    reducer.death()
    reducer.birth({})
    (report,) = run(reducer, [skeleton(2, 1), skeleton(2, 2, "end_of_run")])[-1]
    assert report["run_number"] == 2 and report["spills"] == 1
    assert report["spills_with_errors"] == 0 and report["errors_by_module"] == {}


def test_odd_error_values_are_counted_not_fatal() -> None:
    reducer = ReducePyCountSpills()
    reducer.birth({})
    run(reducer, [{**skeleton(1, 1), "errors": {"MapCppOld": "one message"}},
                  {**skeleton(1, 2), "errors": "not an object"}])
    (report,) = reducer.process(skeleton(1, 3, "end_of_run"))
    assert report["spills_with_errors"] == 1 and report["errors_by_module"] == {"MapCppOld": 1}
