"""The systemd units of conf/systemd/ and the deployment guide that installs them.

Each unit must parse, run a command the project installs, as an unprivileged user, with the
settings the guide promises (warm shutdown of workers, Ctrl-C for go.py, no restart of
input-transform); go.py's options in them must be valid configuration; `systemd-analyze verify`
must accept them where it exists; and the guide must name every unit file.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from maus_online.catalogue import CATALOGUE
from maus_online.configuration import load_configuration, load_options
from tests.conftest import REPO_ROOT
# django_ready: Django with the project's settings, which serves the metrics scraped below.
from tests.test_webfrontend import django_ready, write_plot  # noqa: F401

UNIT_DIR = REPO_ROOT / "conf" / "systemd"
GUIDE = REPO_ROOT / "docs" / "deployment.md"
UNITS = sorted(UNIT_DIR.glob("*.service"))
#: Where the guide installs the project; the units name these paths.
INSTALLED_VENV = "/opt/maus-online/venv"
INSTALLED_SRC = "/opt/maus-online/src"

Unit = dict[str, dict[str, list[str]]]


def parse_unit(text: str) -> Unit:
    """A systemd unit file as {section: {key: [values in order]}}.

    Not configparser: systemd repeats keys (Environment=), keeps their case, and continues
    lines ending in a backslash.
    """
    unit: Unit = {}
    section = None
    logical = re.sub(r"\\\n", " ", text)
    for number, line in enumerate(logical.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        if section is None or not equals or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key):
            raise ValueError(f"line {number}: not 'Key=value' inside a [Section]: {line!r}")
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, is {values}"
    return values[0]


def installed_scripts() -> set[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["scripts"])


def go_arguments(exec_start: list[str]) -> list[str] | None:
    """go.py's arguments if ``exec_start`` runs go.py, else None."""
    if len(exec_start) > 1 and Path(exec_start[1]).name == "go.py":
        return exec_start[2:]
    return None


def _go_module():
    spec = importlib.util.spec_from_file_location("maus_go_driver", REPO_ROOT / "go.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=UNITS, ids=lambda path: path.name)
def unit_file(request) -> Path:
    return request.param


def test_the_farm_units_are_there() -> None:
    names = {path.name for path in UNITS}
    assert {"maus-worker@.service", "maus-merge-output.service",
            "maus-input-transform.service"} <= names


def test_the_parser_reads_what_systemd_reads() -> None:
    unit = parse_unit("[Service]\n# c\nEnvironment=A=1\nEnvironment=B=2\nExecStart=/bin/x \\\n  -y\n")
    assert unit == {"Service": {"Environment": ["A=1", "B=2"], "ExecStart": ["/bin/x    -y"]}}
    with pytest.raises(ValueError):
        parse_unit("ExecStart=/bin/x\n")


def test_unit_runs_an_installed_command_as_an_unprivileged_user(unit_file: Path) -> None:
    unit = parse_unit(unit_file.read_text(encoding="utf-8"))
    assert one(unit, "Unit", "Description")
    user, group = one(unit, "Service", "User"), one(unit, "Service", "Group")
    assert user not in {"root", "0", ""} and group not in {"root", "0", ""}
    exec_start = shlex.split(one(unit, "Service", "ExecStart"))
    command = exec_start[0]
    assert command.startswith(f"{INSTALLED_VENV}/bin/"), command
    if go_arguments(exec_start) is not None:
        assert Path(command).name.startswith("python")
        assert exec_start[1] == f"{INSTALLED_SRC}/go.py"
    else:
        assert Path(command).name in installed_scripts(), \
            f"{command} is not a [project.scripts] command of pyproject.toml"
    # Secrets from a file of the guide; without the leading '-' a missing file stops the start
    # instead of starting a service that talks to 127.0.0.1 with guest's password.
    environment_file = one(unit, "Service", "EnvironmentFile")
    assert environment_file == "/etc/maus-online/farm.env"
    # Stopped through the main process only, with time to finish.
    assert one(unit, "Service", "KillMode") == "mixed"
    assert int(one(unit, "Service", "TimeoutStopSec")) >= 60
    assert one(unit, "Service", "NoNewPrivileges") == "yes"


def test_the_worker_unit_shuts_down_warm_and_names_its_node() -> None:
    unit = parse_unit((UNIT_DIR / "maus-worker@.service").read_text(encoding="utf-8"))
    exec_start = shlex.split(one(unit, "Service", "ExecStart"))
    # Celery's warm shutdown is SIGTERM; SIGQUIT or SIGINT would be a cold one.
    assert one(unit, "Service", "KillSignal") == "SIGTERM"
    assert one(unit, "Service", "Restart") == "on-failure"
    assert "--purge" not in exec_start, "a restarting service must not drop go.py's tasks"
    options = dict(zip(exec_start[1::2], exec_start[2::2]))
    assert options["-n"] == "worker%i@%H"
    # Every variable of the command line has a default in the unit (systemd would pass "").
    defaults = dict(value.split("=", 1) for value in unit["Service"]["Environment"])
    for variable in re.findall(r"\$\{(\w+)\}", one(unit, "Service", "ExecStart")):
        assert variable in defaults, f"${{{variable}}} has no Environment= default"
    assert options["-Q"] == "${MAUS_TASK_QUEUE}"
    assert defaults["MAUS_TASK_QUEUE"] == load_options()["task_queue"].default
    assert int(defaults["MAUS_WORKER_CONCURRENCY"]) >= 1
    # The options are the worker's own (maus-worker passes them to `celery worker`).
    from celery.bin.worker import worker

    known = {flag for parameter in worker.params for flag in parameter.opts}
    assert set(options) <= known, set(options) - known


@pytest.mark.parametrize("name, dataflow", [
    ("maus-merge-output.service", "multi_process_merge_output"),
    ("maus-input-transform.service", "multi_process_input_transform"),
])
def test_go_py_units_use_valid_configuration_and_stop_like_ctrl_c(name: str, dataflow: str) -> None:
    unit = parse_unit((UNIT_DIR / name).read_text(encoding="utf-8"))
    arguments = go_arguments(shlex.split(one(unit, "Service", "ExecStart")))
    assert arguments is not None
    # The configuration file lives on the farm; the rest must be valid go.py configuration.
    index = arguments.index("--configuration_file")
    assert arguments[index + 1] == "/etc/maus-online/maus.toml"
    config = load_configuration(arguments[:index] + arguments[index + 2:])
    assert config["type_of_dataflow"] == dataflow
    assert config["progress"] is False, "a progress line rewritten in place floods the journal"
    go = _go_module()
    assert one(unit, "Service", "KillSignal") == "SIGINT"
    assert one(unit, "Service", "SuccessExitStatus") == str(go.EXIT_INTERRUPTED)
    if dataflow == "multi_process_merge_output":
        assert config["follow"] is True
        assert one(unit, "Service", "Restart") == "on-failure"
        assert one(unit, "Service", "RestartPreventExitStatus") == str(go.EXIT_CONFIGURATION)
        assert one(unit, "Install", "WantedBy") == "multi-user.target"
    else:
        # A restarted input-transform reads its input again: spills would be reduced twice.
        assert one(unit, "Service", "Restart") == "no"
        assert "Install" not in unit, "input-transform runs a run when started, not at boot"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (the unit files are still parsed)")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    # verify checks that the command exists: point the units at this checkout and venv.
    bin_directory = str(Path(sys.executable).parent)
    installed = []
    for path in UNITS:
        text = (path.read_text(encoding="utf-8")
                .replace(f"{INSTALLED_VENV}/bin", bin_directory)
                .replace(INSTALLED_SRC, str(REPO_ROOT)))
        names = [path.name.replace("@.", "@1.")] if "@." in path.name else [path.name]
        for name in names:
            (tmp_path / name).write_text(text, encoding="utf-8")
            installed.append(tmp_path / name)
    assert (Path(bin_directory) / "maus-worker").exists()
    result = subprocess.run(["systemd-analyze", "verify", *map(str, installed)],
                            capture_output=True, text=True, timeout=120)
    # verify reports unknown keys and bad values on stderr but still exits 0: read both.
    about_ours = [line for line in result.stderr.splitlines()
                  if str(tmp_path) in line or any(path.name in line for path in installed)]
    assert result.returncode == 0 and not about_ours, result.stderr


def test_systemd_analyze_reports_a_bad_unit(tmp_path: Path) -> None:
    # The check above relies on verify naming the file in its complaints; make sure it does.
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bad = tmp_path / "bad.service"
    bad.write_text(f"[Service]\nExecStart={sys.executable} -V\nKilMode=mixed\n", encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(bad)],
                            capture_output=True, text=True, timeout=120)
    assert "KilMode" in result.stderr and str(bad) in result.stderr


# --- The guide ---------------------------------------------------------------------------------

def test_the_guide_names_every_unit_file() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    missing = [path.name for path in UNIT_DIR.iterdir()
               if path.is_file() and f"conf/systemd/{path.name}" not in guide]
    assert not missing, f"docs/deployment.md does not name {missing}"


def test_the_guide_covers_the_farm() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for command in ("rabbitmqctl add_vhost", "rabbitmqctl add_user", "rabbitmqctl set_permissions"):
        assert command in guide
    for option in load_options().values():
        if option.env:
            assert option.env in guide, f"the guide does not say where {option.env} is set"
    ports = re.findall(r"^\| (\d+)/tcp", guide, flags=re.MULTILINE)
    assert {"5672", "6379", "27017", "5984", "443"} <= set(ports)
    for path in ("/etc/maus-online/farm.env", "/etc/maus-online/maus.toml"):
        assert path in guide
    assert "webfrontend.md#deployment-under-apache" in guide
    assert "conf/apache/" in guide


def _code_block_lines(markdown: str) -> list[str]:
    """The lines inside the fenced code blocks of ``markdown``."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines()]


def test_the_guide_quotes_the_version_check_as_the_worker_prints_it() -> None:
    lines = _code_block_lines(GUIDE.read_text(encoding="utf-8"))
    for code in ("MAUS-103", "MAUS-102"):
        quoted = [line for line in lines if line.startswith(code + " ")]
        assert quoted, f"the guide does not quote {code}"
        assert all(CATALOGUE[code].found_in(line) for line in quoted), quoted


# --- Prometheus and Grafana (conf/prometheus/, conf/grafana/) ----------------------------------

PROMETHEUS_DIR = REPO_ROOT / "conf" / "prometheus"
GRAFANA_DASHBOARD = REPO_ROOT / "conf" / "grafana" / "maus-online.json"
METRIC = re.compile(r"\bmaus_online_[a-z_]+\b")


@pytest.fixture(scope="module")
def exported_metrics(tmp_path_factory, django_ready) -> set[str]:
    """Every sample name /metrics exports when all its sources are there: a fresh farm.json
    with a lost worker, a quality.json and a plot -- scraped through the front-end itself."""
    from django.test import Client, override_settings
    from prometheus_client.parser import text_string_to_metric_families

    from tests.test_webfrontend_farm import farm_document, quality_document, write_farm

    directory = tmp_path_factory.mktemp("metrics") / "images"
    directory.mkdir()
    write_farm(directory, farm_document(lost=True, stale_process=True))
    (directory / "quality.json").write_text(json.dumps(quality_document()))
    write_plot(directory, "tof_time_01")
    with override_settings(MAUS_IMAGE_DIRECTORY=str(directory)):
        text = Client().get("/metrics").content.decode()
    return {sample.name for family in text_string_to_metric_families(text)
            for sample in family.samples}


def _prometheus_file(name: str) -> dict:
    document = yaml.safe_load((PROMETHEUS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict), name
    return document


def test_prometheus_scrapes_the_front_end_on_this_machine() -> None:
    config = _prometheus_file("prometheus.yml")
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets and all(re.fullmatch(r"127\.0\.0\.1:\d+", target) for target in targets)
    for rules in config["rule_files"]:
        assert (PROMETHEUS_DIR / rules).is_file(), f"rule_files names {rules}, not in conf/"


def test_the_alerts_and_the_grafana_panels_name_only_exported_metrics(exported_metrics) -> None:
    assert {"maus_online_spills_done_total", "maus_online_workers",
            "maus_online_quality_plots", "maus_online_newest_plot_age_seconds"} <= exported_metrics
    rules = [rule for group in _prometheus_file("maus-online-alerts.yml")["groups"]
             for rule in group["rules"]]
    assert rules and all(rule["alert"] and rule["expr"] for rule in rules)
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "maus-online" and dashboard["panels"]
    expressions = [(f"alert {rule['alert']}", rule["expr"]) for rule in rules]
    for panel in dashboard["panels"]:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        expressions += [(f"panel {panel['title']!r}", target["expr"])
                        for target in panel["targets"]]
    named = set()
    for where, expression in expressions:
        names = set(METRIC.findall(expression))
        assert names, f"{where} names no metric of ours: {expression}"
        assert names <= exported_metrics, f"{where}: {names - exported_metrics} not exported"
        named |= names
    # The dashboard and the alerts between them show every metric the front-end exports.
    assert exported_metrics - named <= {"maus_online_worker_spills_done_total",
                                        "maus_online_farm_status_age_seconds"}


def test_the_guide_names_the_prometheus_and_grafana_files() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for path in [*PROMETHEUS_DIR.iterdir(), GRAFANA_DASHBOARD]:
        assert str(path.relative_to(REPO_ROOT)) in guide, path.name
    assert "MAUS_WEB_METRICS_ALLOWED" in guide
