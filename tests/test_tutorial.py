"""docs/tutorial.md, for real: its code is docs/examples/, installed and run as it says.

* The tutorial and the code cannot drift apart: a code block after ``<!-- file: PATH -->`` is
  PATH's whole content, one after ``<!-- output: SCRIPT -->`` is what SCRIPT prints, every
  file of docs/examples/ is quoted, and the commands after ``<!-- command: NAME -->`` are the
  ones these tests run.
* The example package is installed by pip, as the tutorial says, into a temporary directory
  (``--target``) that reaches go.py and a real Celery worker through ``PYTHONPATH``;
  ``--no-build-isolation`` and ``--no-index`` keep pip off the network.
* Runs are small (6 spills of 30 particles) to keep the module quick.
"""
from __future__ import annotations

import base64
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from statistics import mean

import jsonschema
import orjson
import pytest

from maus_online.modules import MapPyGroup, apply_map, fields_read
from maus_online.registry import Registry, build_default_registry
from maus_online.spill.validation import project
from maus_online.tof.detector import load_geometry
from maus_online.tof.particles import C_LIGHT, SPECIES, beta
from outputters.image import OutputPyImage
from reducers.harness import ReducerHarness
from reducers.image_document import histograms_from_json, image_schema
from tests.celery_workers import GO_TIMEOUT, WorkerProcess, run_go, subprocess_env
from tests.conftest import REPO_ROOT, make_config, skeleton
from tests.image_directory import plot_file_names
from tests.tof_helpers import run_chain

TUTORIAL = REPO_ROOT / "docs" / "tutorial.md"
EXAMPLES = REPO_ROOT / "docs" / "examples"
#: What the tests add to the tutorial's go.py commands: a short run, no progress line.
SMALL_RUN = ("--spill_count", "6", "--particles_per_spill", "30", "--random_seed", "11",
             "--progress", "false")
PIP_TIMEOUT = 180
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: A marker comment, then a fenced code block: (kind, argument, content of the block).
BLOCK = re.compile(r"^<!-- (file|output|command): (\S+) -->\n```[a-z]*\n(.*?)^```$",
                   re.MULTILINE | re.DOTALL)


def marked_blocks() -> list[tuple[str, str, str]]:
    return BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def marked(kind: str, argument: str) -> str:
    (content,) = [c for k, a, c in marked_blocks() if (k, a) == (kind, argument)]
    return content


def tutorial_command(name: str) -> list[str]:
    """The words of the tutorial's command block ``name``, continuation lines joined."""
    return shlex.split(marked("command", name).replace("\\\n", " "))


def go_arguments(name: str) -> list[str]:
    words = tutorial_command(name)
    assert words[:2] == ["python", "go.py"], f"command {name} does not run go.py: {words}"
    return words[2:]


def read_plot(directory: Path) -> dict:
    """The ``tof_beta`` plot OutputPyImage wrote: checks the image, returns the sidecar."""
    assert (directory / "tof_beta.png").read_bytes().startswith(PNG_MAGIC)
    sidecar = orjson.loads((directory / "tof_beta.json").read_bytes())
    assert sidecar["image"]["image_file"] == "tof_beta.png"
    return sidecar["image"]


def bin_contents(image: dict) -> list[int]:
    """The bin contents of the plot's histogram, under- and overflow bins included."""
    (histogram,) = image["histograms"]
    values = histogram["storage"]["values"]
    assert len(values) == histogram["axes"][0]["bins"] + 2
    return values


# --- The tutorial quotes the code --------------------------------------------------------

def test_every_marker_is_followed_by_a_code_block() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    markers = re.findall(r"<!-- (?:file|output|command):", text)
    assert len(markers) == len(marked_blocks()) >= 6


def test_every_quoted_file_is_the_file() -> None:
    for kind, path, content in marked_blocks():
        if kind == "file":
            assert content == (REPO_ROOT / path).read_text(encoding="utf-8"), (
                f"docs/tutorial.md quotes an old {path}: copy the file into the block")


def test_every_example_file_is_quoted() -> None:
    quoted = {path for kind, path, _ in marked_blocks() if kind == "file"}
    files = {str(path.relative_to(REPO_ROOT)) for path in EXAMPLES.rglob("*")
             if path.suffix in (".py", ".toml") and not ({"build", "__pycache__"} & set(path.parts))
             and not any(part.endswith(".egg-info") for part in path.parts)}
    assert files, "docs/examples/ holds no code"
    assert files <= quoted, f"not quoted in docs/tutorial.md: {sorted(files - quoted)}"


def test_the_worker_run_uses_the_same_options_as_the_single_process_run() -> None:
    assert go_arguments("multi") == ["--type_of_dataflow", "multi_process",
                                     *go_arguments("single")]


# --- Installed as the tutorial says -------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The tutorial's ``pip install``, into a directory of its own, from a copy of the
    package (pip builds in the source tree; docs/examples/ stays clean)."""
    words = tutorial_command("install")
    assert words[:2] == ["pip", "install"] and len(words) == 3, words
    work = tmp_path_factory.mktemp("example")
    source = shutil.copytree(REPO_ROOT / words[2], work / "source", ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    target = work / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=PIP_TIMEOUT)
    hint = ("\nThe venv needs setuptools and wheel to build without isolation "
            "(pip install wheel)." if "bdist_wheel" in result.stderr + result.stdout else "")
    assert result.returncode == 0, result.stdout + result.stderr + hint
    return target


@pytest.fixture(scope="module")
def example_env(site: Path) -> dict[str, str]:
    """The environment of go.py and the workers: the installed package on PYTHONPATH."""
    return subprocess_env(site)


@pytest.fixture(scope="module")
def worker_env(example_env: dict[str, str]) -> dict[str, str]:
    """Overrides tests.celery_workers' fixture: start_workers' workers get the package."""
    return example_env


@pytest.fixture(scope="module")
def example(site: Path) -> Iterator[Path]:
    """The installed package importable in this process, as it is in go.py."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        yield site
    for name in [n for n in sys.modules if n == "maus_example" or n.startswith("maus_example.")]:
        del sys.modules[name]


def test_the_install_declares_both_entry_points(site: Path) -> None:
    (info,) = site.glob("maus_example-*.dist-info")
    entry_points = (info / "entry_points.txt").read_text()
    assert "[maus_online.modules]" in entry_points
    assert "MapPyTOFBeta = maus_example.maps:MapPyTOFBeta" in entry_points
    assert "ReducePyTOFBeta = maus_example.plots:ReducePyTOFBeta" in entry_points


def test_the_registry_finds_both_modules_in_the_installed_package(example: Path) -> None:
    registry = build_default_registry()
    for name, kind in (("MapPyTOFBeta", "map"), ("ReducePyTOFBeta", "reduce")):
        cls = registry.get(name, kind=kind)
        assert cls.__name__ == name
        assert Path(sys.modules[cls.__module__].__file__).is_relative_to(example)


def test_the_script_prints_what_the_tutorial_shows(example_env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, str(EXAMPLES / "try_beta.py")], cwd=REPO_ROOT,
                            env=example_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == marked("output", "docs/examples/try_beta.py")


# --- The map and the reducer, unit by unit ------------------------------------------------

@pytest.fixture(scope="module")
def reconstructed() -> list[dict]:
    """Three spills of 30 particles through the default chain (no MapPyTOFBeta yet)."""
    return run_chain(range(1, 4), particles_per_spill=30)


@pytest.fixture(scope="module")
def example_registry(example: Path) -> Registry:
    """The registry go.py builds once the package is installed."""
    return build_default_registry()


def born(registry: Registry, name: str):
    module = registry.create(name)
    module.birth(make_config())
    return module


def with_beta(registry: Registry, spills: list[dict]) -> list[dict]:
    """``spills`` through MapPyTOFBeta; copies, through JSON as on the wire."""
    tof_beta = born(registry, "MapPyTOFBeta")
    return [tof_beta.process(orjson.loads(orjson.dumps(spill))) for spill in spills]


def test_the_map_adds_one_beta_per_trigger(example_registry: Registry,
                                           reconstructed: list[dict]) -> None:
    length = load_geometry(make_config()["tof_geometry_file"]).distance(0, 1)
    by_species: dict[str, list[float]] = {name: [] for name in SPECIES}
    for spill in with_beta(example_registry, reconstructed):
        assert spill["errors"] == {}
        assert len(spill["tof_beta"]) == len(spill["recon_events"]) == 30
        for event, value in zip(spill["recon_events"], spill["tof_beta"], strict=True):
            tof01 = event["tof_event"]["time_of_flight"]["tof01"]
            assert value == pytest.approx(length / (C_LIGHT * tof01))
            by_species[event["tof_pid"]["hypothesis"]].append(value)
    # The physics: each species' speeds gather around the beta expected at its momentum.
    momentum = make_config()["tof_pid_reference_momentum"]
    for name, values in by_species.items():
        assert values, f"no {name} in 90 triggers"
        assert mean(values) == pytest.approx(beta(momentum, SPECIES[name].mass), abs=0.01)


def test_a_trigger_without_tof01_gets_none(example_registry: Registry,
                                           reconstructed: list[dict]) -> None:
    spill = orjson.loads(orjson.dumps(reconstructed[0]))
    del spill["recon_events"][4]["tof_event"]["time_of_flight"]["tof01"]
    (spill,) = with_beta(example_registry, [spill])
    assert spill["tof_beta"][4] is None
    assert None not in spill["tof_beta"][:4] + spill["tof_beta"][5:]


def test_markers_and_spills_without_reconstruction_pass_unchanged(
        example_registry: Registry) -> None:
    tof_beta = born(example_registry, "MapPyTOFBeta")
    for spill in (skeleton(1, 0, "start_of_run"), skeleton(1, 1),
                  {**skeleton(1, 2), "recon_events": []}, skeleton(1, 3, "end_of_run")):
        assert tof_beta.process(dict(spill)) == spill


def test_a_malformed_spill_is_recorded_and_the_chain_goes_on(example_registry: Registry) -> None:
    chain = MapPyGroup(born(example_registry, "MapPyTOFBeta"),
                       born(example_registry, "MapPyTOFBeta"))
    spill = {**skeleton(1, 1), "recon_events": [{"tof_event": {"tof_slab_hits": {}}}]}
    result = apply_map(chain, spill)
    first, second = result["errors"]["MapPyTOFBeta"]
    assert first.startswith("ValueError: recon_events[0] has no tof_event.time_of_flight "
                            "(KeyError('time_of_flight')); run MapPyTOFTimeOfFlight before "
                            "MapPyTOFBeta\nTraceback")
    assert second.split("\n")[0] == first.split("\n")[0]  # the second member still ran


def whole_run(registry: Registry, physics: list[dict]) -> list[dict]:
    """A run of the tutorial's reducer, driven as a dataflow drives it."""
    harness = ReducerHarness(registry.create("ReducePyTOFBeta"), make_config())
    return harness.run(physics)


def test_the_reducer_draws_the_run_into_one_image_document(
        example_registry: Registry, reconstructed: list[dict]) -> None:
    spills = with_beta(example_registry, reconstructed)
    # The default refresh_rate (10) is more than 3 spills: only the end of the run draws.
    (document,) = whole_run(example_registry, spills)
    jsonschema.Draft7Validator(image_schema(),
                               format_checker=jsonschema.FormatChecker()).validate(document)
    image = document["image"]
    assert (image["tag"], image["run_number"], image["spill_number"], image["spills_seen"]) == (
        "tof_beta", 1, 4, 3)
    assert base64.b64decode(image["data"]).startswith(PNG_MAGIC)
    histogram = histograms_from_json(image["histograms"])["Triggers"]
    assert histogram.sum(flow=False) == sum(len(s["tof_beta"]) for s in spills) == 90
    assert [spill["errors"] for spill in spills] == [{}, {}, {}]


def test_the_reducer_splits_and_its_fill_reads_only_tof_beta(
        example_registry: Registry, reconstructed: list[dict]) -> None:
    reducer = example_registry.create("ReducePyTOFBeta")
    assert reducer.splits()
    # Its fill part runs on the workers: go.py needs no spill field back at all.
    assert fields_read([reducer, OutputPyImage()]) == []
    spills = with_beta(example_registry, reconstructed)
    full = whole_run(example_registry, spills)
    trimmed = whole_run(example_registry,
                        [project(spill, reducer.spill_fields) for spill in spills])
    assert bin_contents(trimmed[0]["image"]) == bin_contents(full[0]["image"])


def test_a_malformed_tof_beta_is_recorded_and_the_run_goes_on(
        example_registry: Registry, reconstructed: list[dict]) -> None:
    bad = {**skeleton(1, 1), "tof_beta": 5}
    (document,) = whole_run(example_registry,
                            [bad, *with_beta(example_registry, reconstructed[:1])])
    (message,) = bad["errors"]["ReducePyTOFBeta"]
    assert message.startswith("TypeError: 'int' object is not iterable")
    assert document["image"]["spills_seen"] == 1  # only the spill that filled counts
    assert sum(bin_contents(document["image"])) == 30


def test_the_reducer_contract_passes_on_the_installed_package(
        example_env: dict[str, str], tmp_path: Path) -> None:
    words = tutorial_command("contract")
    assert words[:4] == ["python", "-m", "reducers.contract", "maus_example"], words
    assert words[4:] == ["--maus-transformer", marked_transformer()], words
    result = subprocess.run([sys.executable, *words[1:], "-q"], cwd=tmp_path, env=example_env,
                            capture_output=True, text=True, timeout=PIP_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ReducePyTOFBeta" in result.stdout or " passed" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    # Only the package's reducer was tested, not the project's own.
    listed = subprocess.run([sys.executable, *words[1:], "--collect-only", "-q"],
                            cwd=tmp_path, env=example_env, capture_output=True, text=True,
                            timeout=PIP_TIMEOUT).stdout
    assert "ReducePyTOFBeta" in listed and "ReducePyTOFPlot" not in listed


def marked_transformer() -> str:
    """The chain of the tutorial's go.py command (with MapPyTOFBeta)."""
    arguments = go_arguments("single")
    return arguments[arguments.index("--transformer") + 1]


def test_the_contract_command_says_when_a_package_has_no_reducer(
        example_env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "reducers.contract", "no_such_package"],
                            cwd=tmp_path, env=example_env, capture_output=True, text=True,
                            timeout=PIP_TIMEOUT)
    assert result.returncode == 2
    assert "no registered reducer comes from package 'no_such_package'" in result.stderr


# --- go.py, in one process and on a Celery worker -----------------------------------------

@pytest.fixture(scope="module")
def single_run(example_env: dict[str, str], tmp_path_factory):
    """The tutorial's single-process command, shortened: (go.py's result, its directory)."""
    cwd = tmp_path_factory.mktemp("single")
    result = subprocess.run([sys.executable, str(REPO_ROOT / "go.py"), *go_arguments("single"),
                             *SMALL_RUN], cwd=cwd, env=example_env, capture_output=True,
                            text=True, timeout=GO_TIMEOUT)
    return result, cwd


def test_go_py_in_one_process_draws_the_plot(single_run) -> None:
    result, cwd = single_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pipeline_single_thread" in result.stdout
    assert "MapPyTOFTimeOfFlight, MapPyTOFBeta)" in result.stdout
    assert "spills failed:    0" in result.stdout
    image = read_plot(cwd / "images")
    assert (image["run_number"], image["spills_seen"]) == (1, 6)
    # Every simulated particle reaches TOF1 and has a beta in the axis' range.
    assert sum(bin_contents(image)[1:-1]) == 6 * 30
    assert plot_file_names(cwd / "images") == ["tof_beta.json", "tof_beta.png"]


def test_go_py_with_the_map_on_a_celery_worker_draws_the_same_plot(
        start_workers, queue, worker_env, single_run, tmp_path) -> None:
    (worker,) = start_workers(1, concurrency=2)
    result = run_go(queue, worker_env, tmp_path, *go_arguments("multi"), *SMALL_RUN,
                    "--doc_store_url", f"sqlite:///{tmp_path}/store.db")
    assert result.returncode == 0, result.stdout + result.stderr + worker.log()
    assert f"{worker.nodename}: updated, sub-processes" in result.stdout
    assert f"spills by worker: {worker.nodename} 6" in result.stdout
    assert "spills failed:    0" in result.stdout
    image = read_plot(tmp_path / "images")
    assert (image["run_number"], image["spills_seen"]) == (1, 6)
    assert bin_contents(image) == bin_contents(read_plot(single_run[1] / "images"))


def test_without_the_package_go_py_names_the_missing_map(tmp_path) -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "go.py"), *go_arguments("single"),
                             *SMALL_RUN], cwd=tmp_path, env=subprocess_env(tmp_path),
                            capture_output=True, text=True, timeout=GO_TIMEOUT)
    assert result.returncode != 0
    assert "unknown map module 'MapPyTOFBeta'" in result.stdout + result.stderr


def test_a_worker_without_the_package_fails_at_birth_and_says_why(
        celery_app, queue, example_env, tmp_path) -> None:
    bare = WorkerProcess(queue, tmp_path, subprocess_env(tmp_path), concurrency=1).start()
    try:
        bare.wait_ready(celery_app)
        result = run_go(queue, example_env, tmp_path, *go_arguments("multi"), *SMALL_RUN,
                        "--doc_store_url", f"sqlite:///{tmp_path}/store.db")
    finally:
        bare.stop()
    assert result.returncode != 0
    assert re.search(rf"{re.escape(bare.nodename)}: PID \d+: UnknownModuleError: unknown map "
                     r"module 'MapPyTOFBeta'", result.stderr), (
        result.stdout + result.stderr + bare.log())
    assert not (tmp_path / "images" / "tof_beta.png").exists()
