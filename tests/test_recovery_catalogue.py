"""The catalogue of messages (maus_online/catalogue.py) and the recovery guide (docs/recovery.md)
hold together, and the main failures, provoked for real, print the catalogue's words.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from maus_online.catalogue import CATALOGUE, GUIDE, SYMPTOMS
from tests.celery_workers import go_command, run_go
from tests.conftest import REPO_ROOT
from tests.processes import wait_until

GUIDE_TEXT = (REPO_ROOT / GUIDE).read_text()
CODE = re.compile(r"MAUS-\d{3}")


def found(code, output):
    assert CATALOGUE[code].found_in(output), f"{code} not in:\n{output}"


# --- The catalogue and the guide ------------------------------------------------------------

def test_every_catalogued_message_has_its_section_in_the_guide():
    headings = set(re.findall(r"^### (MAUS-\d{3})$", GUIDE_TEXT, re.MULTILINE))
    assert headings == set(CATALOGUE), "guide headings and catalogue differ"


def test_the_guide_names_no_message_that_does_not_exist():
    assert set(CODE.findall(GUIDE_TEXT)) <= set(CATALOGUE)


def test_the_guide_quotes_each_message_as_the_catalogue_has_it():
    for message in CATALOGUE.values():
        quoted = message.text if message.source == "celery" else f"{message.code} {message.text}"
        assert quoted in GUIDE_TEXT, message.code


def test_the_guide_is_organised_by_the_symptoms_a_shifter_sees():
    for key, title in SYMPTOMS.items():
        assert f'<a id="{key}"></a>\n## {title}' in GUIDE_TEXT
    for required in ("plots stopped updating", "no workers answered", "keeps restarting",
                     "rabbitmq unreachable", "document store unreachable", "version mismatch",
                     "transform failed on every spill"):
        assert required in GUIDE_TEXT.lower()


def test_every_message_of_ours_is_printed_somewhere_in_the_code():
    sources = "".join(path.read_text() for folder in ("maus_online", "workers", "webfrontend",
                                                         "reducers", "outputters")
                      for path in (REPO_ROOT / folder).rglob("*.[pj][ys]")
                      if "node_modules" not in path.parts and "vendor" not in path.parts
                      and path.name != "catalogue.py")
    sources += (REPO_ROOT / "go.py").read_text()
    unused = [code for code, message in CATALOGUE.items() if message.source != "celery"
              and not re.search(f"[\"'`]{code}", sources)]
    assert not unused


def test_the_dashboards_banners_are_the_catalogues_words():
    from dashboard.payloads import Freshness

    found("MAUS-303", Freshness(None, None, 60).message)
    found("MAUS-301", Freshness(1_700_000_000.0, 3600.0, 60).message)
    for script in ("dashboard.js", "detail.js"):
        source = (REPO_ROOT / "webfrontend/dashboard/static/dashboard" / script).read_text()
        for literal in ("MAUS-302 No update since ", ". Retrying every ",
                        " s; the plots shown may be old. ", "[docs/recovery.md#maus-302]"):
            assert literal in source, (script, literal)


def test_go_help_points_to_the_recovery_guide(go_command, tmp_path):
    result = subprocess.run([*go_command, "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert "docs/recovery.md" in result.stdout and "MAUS-1xx" in result.stdout


# --- The main failures, for real ------------------------------------------------------------

def test_a_configuration_error(go_command, tmp_path):
    result = subprocess.run([*go_command, "--spill_count", "many"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    found("MAUS-120", result.stderr)


def test_no_worker_answers(worker_env, queue, tmp_path):
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--worker_birth_timeout", "2")
    assert result.returncode == 1
    found("MAUS-101", result.stderr)


def test_the_broker_is_down(worker_env, queue, tmp_path):
    # Nothing listens on port 1: for go.py, exactly a RabbitMQ that is down.
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--broker_url", "amqp://guest:guest@127.0.0.1:1//",
                    "--worker_birth_timeout", "5", timeout=120)
    assert result.returncode == 1
    found("MAUS-104", result.stderr)
    assert "guest:guest" not in result.stderr  # the password is never printed


def test_the_document_store_is_down(go_command, tmp_path):
    result = subprocess.run([*go_command, "--progress", "false", "--type_of_dataflow",
                             "multi_process_merge_output", "--doc_store_class", "couchdb",
                             "--doc_store_url", "http://127.0.0.1:1/maus",
                             "--server_outage_timeout", "1.5"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    found("MAUS-110", result.stdout)
    found("MAUS-112", result.stderr)


def test_a_birth_failure(start_workers, worker_env, queue, tmp_path):
    (worker,) = start_workers(1, concurrency=1)
    found("MAUS-200", worker.log())  # the start-up line points to the guide
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--transformer", "MapPyGroup(MapPyBeamMaker, MapPyBirthFails)")
    assert result.returncode == 1
    found("MAUS-102", result.stderr)
    found("MAUS-201", worker.log())
    found("MAUS-202", worker.log())


def test_a_version_mismatch(start_workers, worker_env, queue, tmp_path):
    (worker,) = start_workers(1, concurrency=1)
    # go.py of another version: the same go.py, with the version it announces changed.
    other_go = ("import sys, runpy, maus_online; maus_online.__version__ = '0.0.1-other'; "
                f"sys.argv = {['go.py', *go_command(queue)[2:], '--type_of_dataflow', 'multi_process']!r}; "
                f"runpy.run_path({str(REPO_ROOT / 'go.py')!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", other_go], cwd=tmp_path, env=worker_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    found("MAUS-102", result.stderr)
    found("MAUS-103", result.stderr)
    assert "0.0.1-other" in result.stderr
    found("MAUS-103", worker.log())


def test_a_transform_that_fails_on_every_spill(start_workers, worker_env, queue, tmp_path):
    start_workers(1, concurrency=1)
    result = run_go(queue, worker_env, tmp_path, "--type_of_dataflow", "multi_process",
                    "--transformer", "MapPyGroup(MapPyBeamMaker, MapPyRaiseUnpicklable)",
                    "--spill_count", "3")
    assert result.returncode == 0
    found("MAUS-130", result.stdout)
    assert "MapPyRaiseUnpicklable 3" in result.stdout


def test_a_killed_sub_process_is_explained(start_workers, celery_app):
    (worker,) = start_workers(1, concurrency=1)
    pids = [int(pid) for pid in worker.configuration(celery_app)["processes"]]
    os.kill(pids[0], signal.SIGKILL)
    wait_until(lambda: CATALOGUE["MAUS-252"].found_in(worker.log()),
               "the worker explaining the killed sub-process", 60)
