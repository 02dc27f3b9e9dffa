"""The catalogue of every message a shifter can meet: go.py's output, a worker's terminal, the
web page. Each has an identifier, the symptom it belongs to, what it means and what to do; the
recovery guide (docs/recovery.md) is organised by symptom and names every identifier, and the
tests hold the two together.

The code prints messages through the catalogue, so that each one carries its identifier and the
guide section that explains it::

    raise ExecutorError(say("MAUS-101", timeout=300, broker=url, queue="maus_online"))
    # MAUS-101 no worker answered within 300 s ... [docs/recovery.md#maus-101]

Entries whose ``source`` is ``celery`` are Celery's own words, which we cannot change; they are
here so that the guide explains them too, and the tests check the text Celery really prints.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

GUIDE = "docs/recovery.md"

#: The guide's sections: what the shifter sees, in the shifter's words.
SYMPTOMS: dict[str, str] = {
    "no-workers": "go.py says no workers answered",
    "birth": "go.py says the workers could not be born",
    "version": "Version mismatch",
    "broker": "RabbitMQ unreachable",
    "redis": "Redis unreachable (result back end, spill exchange)",
    "store": "Document store unreachable",
    "paused": "go.py says the run is paused (a server is down)",
    "transform": "Transform failed on every spill (or on some)",
    "restarting": "A worker keeps restarting",
    "plots": "Plots stopped updating",
    "archive": "A run is missing from the run archive",
    "missing": "A plot or a past run is missing from the dashboard",
    "configuration": "go.py stops with a configuration error",
    "input": "Bad input data",
    "information": "Messages that need no action",
    "farm": "The farm banner is red, says there is no status from go.py, or /metrics refuses",
    "quality": "A detector group goes Bad",
}


@dataclass(frozen=True)
class Message:
    """One catalogued message: ``text`` is its ``str.format`` template. What it means and
    what the shifter does are in the guide, under the identifier."""

    code: str
    symptom: str
    source: str  # go.py, worker, web, or celery (Celery's own text)
    text: str

    @property
    def anchor(self) -> str:
        return self.code.lower()

    @property
    def guide(self) -> str:
        """Where the guide explains this message: ``docs/recovery.md#maus-101``."""
        return f"{GUIDE}#{self.anchor}"

    def format(self, **fields: object) -> str:
        """The message as printed: identifier, text, and where the guide explains it."""
        return f"{self.code} {self.text.format(**fields)} [{self.guide}]"

    def pattern(self) -> re.Pattern[str]:
        """A regular expression that matches the message with any values in its fields (our
        own messages with their identifier; Celery's without)."""
        parts = [] if self.source == "celery" else [re.escape(self.code), " "]
        for literal, field, _, _ in string.Formatter().parse(self.text):
            parts.append(re.escape(literal))
            if field is not None:
                parts.append(r".+?")
        return re.compile("".join(parts), re.DOTALL)

    def found_in(self, output: str) -> bool:
        """True when ``output`` contains this message, whatever its field values."""
        return self.pattern().search(output) is not None


def _messages(*messages: Message) -> dict[str, Message]:
    catalogue = {message.code: message for message in messages}
    assert len(catalogue) == len(messages), "a code is catalogued twice"
    assert all(m.symptom in SYMPTOMS for m in messages), "a message has an unknown symptom"
    return catalogue


CATALOGUE: dict[str, Message] = _messages(
    # --- 1xx: the run, as go.py (and the worker handling a spill) reports it ---------------
    Message("MAUS-101", "no-workers", "go.py",
            "no worker answered within {timeout} s on the broker {broker} for the queue "
            "{queue}; start workers with `celery -A workers worker -Q {queue} -c 2 -l INFO`"),
    Message("MAUS-102", "birth", "go.py",
            "{failed} of {total} workers could not be born with {specification}: {details}"),
    Message("MAUS-103", "version", "worker",
            "version mismatch: go.py runs MAUS Online {theirs}, this worker runs {ours}; "
            "upgrade them together"),
    Message("MAUS-104", "broker", "go.py",
            "cannot reach the broker {broker}: {reason}"),
    Message("MAUS-106", "redis", "go.py",
            "cannot {what} the spill exchange {url}: {reason}"),
    Message("MAUS-107", "redis", "worker",
            "spill {key} is not in the spill exchange {url} (expired after {ttl} s, or "
            "never written)"),
    Message("MAUS-108", "paused", "go.py",
            "{server} {url} unreachable since {since} ({reason}); the run is paused: go.py "
            "keeps every spill it holds and goes on by itself when {server} is back (it "
            "waits up to server_outage_timeout = {timeout} s)"),
    Message("MAUS-110", "store", "go.py",
            "document store unavailable, cannot {what}: {reason}; retrying in {delay} s"),
    Message("MAUS-111", "information", "go.py",
            "document store back: {what} succeeded after {failures} failed attempt(s)"),
    Message("MAUS-112", "store", "go.py",
            "gave up trying to {what} after {timeout} s: {reason}"),
    Message("MAUS-113", "configuration", "go.py",
            "doc_store_class memory lives inside one process and the workers cannot write "
            "into it; use sqlite (one machine), mongodb or couchdb"),
    Message("MAUS-114", "input", "go.py",
            "merge-output skipped {label}: {reason}"),
    Message("MAUS-115", "configuration", "go.py",
            "merge-output {consumer!r} reads what the document store's spills do not hold: "
            "{missing} (its reducers and outputs: {readers}); the input-transform stores "
            "{stored}. Give the input-transform the same --reducers and --outputters"),
    Message("MAUS-116", "configuration", "go.py",
            "configuration key 'archive_directory' is {directory!r}: {reason}; name a "
            "directory go.py can create and write in, or leave it empty for archive beside "
            "image_directory"),
    Message("MAUS-117", "archive", "go.py",
            "run {run} was not archived in {directory}: {reason}; its plots stay in {images} "
            "until a run writes them again"),
    Message("MAUS-118", "archive", "go.py",
            "archive_keep_runs is {keep}, but {name} could not be removed from {directory}: "
            "{reason}; the archive holds more runs than it should"),
    Message("MAUS-119", "archive", "go.py",
            "run {run} was archived and at once dropped: archive_keep_runs {keep} keeps the "
            "highest run numbers, from {lowest} up"),
    Message("MAUS-160", "configuration", "go.py",
            "reference_run {run!r}: {path} {reason}, so {reducer} cannot draw its plots "
            "({tag}, ...) over it; name a run archived in {archive} by its number, or a run "
            "directory, or leave reference_run empty"),
    Message("MAUS-161", "configuration", "go.py",
            "reference_run {run!r}: plot {tag} ({path}) has other bins than {reducer} books "
            "now ({difference}); choose a reference run taken with the same binning, geometry "
            "and cabling, or leave reference_run empty"),
    Message("MAUS-162", "information", "go.py",
            "reference_run {run!r} has no plot {tag} in {directory}; {reducer} draws {tag} "
            "without a reference"),
    Message("MAUS-163", "configuration", "go.py",
            "reference_run {run!r}: cannot read plot {tag} from {path} ({reason}); archive "
            "the reference run again, or leave reference_run empty"),
    # --- 180-184: the run's quality summary (outputters/quality_summary.py) ------------------
    Message("MAUS-180", "plots", "go.py",
            "plot {tag}: its quality is ignored: {reason}; the plot counts in no quality "
            "group until a refresh brings a well-formed image.quality"),
    Message("MAUS-181", "plots", "go.py",
            "cannot write the quality summary {path}: {reason}; the dashboard's /quality "
            "shows the last summary written"),
    # --- 170-179: quality checks (maus_online/checks) and the simulation's faults ---------
    Message("MAUS-170", "configuration", "go.py",
            "quality_checks_file {path}: cannot be read ({reason}); name a TOML file of "
            "checks (conf/quality_checks.toml is the project's), or leave quality_checks_file "
            "empty for no checks"),
    Message("MAUS-171", "configuration", "go.py",
            "{where}: unknown check {check!r}; known: {known}"),
    Message("MAUS-172", "configuration", "go.py",
            "{where}: {check} parameter {parameter!r} is {value!r}, expected {expected} "
            "(its parameters: {known})"),
    Message("MAUS-173", "configuration", "go.py",
            "{where}: tag pattern {pattern!r} matches no plot of the configured reducers "
            "(their plots: {tags}); correct the pattern, name the reducer the entry is for, "
            "or remove the entry"),
    Message("MAUS-174", "configuration", "go.py",
            "quality_checks_file {path}: {where} is {value!r}, expected {expected}"),
    Message("MAUS-175", "configuration", "go.py",
            "simulation_dead_pmts: {key!r} is not a PMT of the cabling map {cabling}; write "
            "PMT keys as the cabling does, e.g. 'TOFChannelKey 1 0 3 0 tof1'"),
    Message("MAUS-176", "configuration", "go.py",
            "simulation_station_time_offsets: {station!r} is not a station of the geometry "
            "{geometry}; stations: {known}"),
    Message("MAUS-177", "quality", "go.py",
            "check {check} of plot {tag} failed and is Null: {error}"),
    Message("MAUS-120", "configuration", "go.py",
            "go.py: configuration error: {reason}"),
    Message("MAUS-121", "information", "go.py",
            "go.py: the run failed: {reason}"),
    Message("MAUS-130", "transform", "go.py",
            "errors by module: {counts}"),
    Message("MAUS-131", "transform", "worker",
            "spill refused: {reason}"),
    Message("MAUS-132", "transform", "worker",
            "spill failed: {reason}"),
    Message("MAUS-133", "input", "go.py",
            "{where}: {reason}"),
    Message("MAUS-134", "restarting", "go.py",
            "worker {worker} refused spill {seq}: it started after the run's birth; given the "
            "run's configuration ({outcome}), the spill is sent again"),
    Message("MAUS-135", "input", "go.py",
            "the input file {path} is empty ({what}): there are no spills to read; name a "
            "file of spills in input_json_file_name"),
    Message("MAUS-136", "input", "go.py",
            "cannot read the input file {path}: {reason}"),
    Message("MAUS-137", "input", "go.py",
            "{where}: the file is cut short ({reason}); every complete spill before the cut "
            "was read, the last one {last}"),
    Message("MAUS-138", "input", "go.py",
            "{where}: {label}: {fields}, which JSON does not allow in a number; the spill is "
            "refused"),
    Message("MAUS-139", "input", "go.py",
            "{label}: {field} is {value}, not {expected}; {reducer} leaves the spill out of "
            "its plots"),
    Message("MAUS-140", "information", "go.py",
            "{server} {url} is back after {seconds} s; the run goes on"),
    Message("MAUS-142", "information", "go.py",
            "resuming the stream of an earlier go.py that stopped in the middle ({input}): "
            "the store holds every spill up to {last}{beyond}; spills already stored are "
            "skipped, nothing is stored twice"),
    Message("MAUS-143", "configuration", "go.py",
            "cannot resume the stream in the document store {url}: an earlier go.py stopped "
            "in the middle of it, and {differences}. Run it again as it was to resume, or "
            "give --restart_run true to start the stream over (its run is reduced again "
            "from the start)"),
    Message("MAUS-144", "information", "go.py",
            "restart_run: the stream an earlier go.py left unfinished ({input}) is started "
            "over; merge-output closes its open run and begins again"),
    # --- 145-149: the farm status, farm.json (maus_online/farm_status.py) -------------------
    Message("MAUS-145", "plots", "go.py",
            "the farm status {path} was not written: {reason}; the run goes on, and the farm "
            "page shows the last status written, as old"),
    Message("MAUS-146", "restarting", "go.py",
            "worker {worker} lost: not heard from since {since}"),
    Message("MAUS-147", "information", "go.py",
            "worker {worker} answers again, after {seconds} s unheard"),
    Message("MAUS-148", "restarting", "go.py",
            "worker {worker} sub-process {pid} runs configuration {theirs}, not go.py's "
            "{ours}: it refuses the run's spills"),
    Message("MAUS-149", "information", "go.py",
            "worker {worker} on {host} joined the farm at {since}; it is given the run's "
            "configuration with its first spill"),
    Message("MAUS-141", "paused", "go.py",
            "{server} {url} stayed unreachable longer than server_outage_timeout = {timeout} s "
            "({reason}); the run ends here, with the images of every spill reduced so far"),
    # --- 2xx: a worker's terminal (25x: Celery's own words, matched without identifier) ----
    Message("MAUS-200", "information", "worker",
            "MAUS Online {version} worker ready; queues {queues}; recovery guide {guide}"),
    Message("MAUS-201", "birth", "worker",
            "birth of {specification} failed in PID {pid}: {traceback}"),
    Message("MAUS-202", "birth", "worker",
            "birth of configuration {config_id} failed: {failed}"),
    Message("MAUS-203", "restarting", "worker",
            "new sub-process could not be born with configuration {config_id}: {error}"),
    Message("MAUS-204", "information", "worker",
            "death of the old transform failed in PID {pid}: {traceback}"),
    Message("MAUS-205", "restarting", "worker",
            "child channel of PID {pid} could not reply: {reason}"),
    Message("MAUS-251", "broker", "celery",
            "consumer: Cannot connect to {broker}: {reason}."),
    Message("MAUS-252", "restarting", "celery",
            "Process '{name}' pid:{pid} exited with 'signal {signal}"),
    Message("MAUS-253", "restarting", "celery",
            "Worker exited prematurely: signal {signal}"),
    # --- 3xx: the dashboard's banners ----------------------------------------------------
    Message("MAUS-301", "plots", "web",
            "Stale data: no new plot for {age} (the newest was written {when}). Is the "
            "reconstruction running?"),
    Message("MAUS-302", "plots", "web",
            "No update since {time}: {error}. Retrying every {period} s; the plots shown "
            "may be old."),
    Message("MAUS-303", "plots", "web",
            "No plots yet. The front-end reads the directory named by MAUS_IMAGE_DIRECTORY;"
            " go.py writes to its image_directory."),
    # --- 304-307: the front-end's log lines and the archive's page (dashboard/messages.py) --
    Message("MAUS-304", "missing", "web",
            "image directory {directory}: skipped sidecar {name}: {reason}"),
    Message("MAUS-305", "missing", "web",
            "run archive {directory}: skipped {name}: {reason}"),
    Message("MAUS-306", "missing", "web",
            "No archived runs. The front-end reads the directory named by "
            "MAUS_ARCHIVE_DIRECTORY ({directory}); go.py archives each run there when the "
            "run ends."),
    Message("MAUS-307", "information", "web",
            "refused a request for the host {host}: it is not in MAUS_WEB_ALLOWED_HOSTS "
            "({path})"),
    # --- 308-311: overlays on the detail page (dashboard/compare.py) -------------------------
    Message("MAUS-308", "missing", "web",
            "compare={value} is not a run number: choose a run from the list (one to six "
            "digits, e.g. compare=7). The plot is shown alone."),
    Message("MAUS-309", "missing", "web",
            "Run {run} is not in the archive, or its run.json cannot be read: nothing to "
            "compare with. The plot is shown alone."),
    Message("MAUS-310", "missing", "web",
            "Run {run} has no plot {tag}: nothing to compare with. The plot is shown alone."),
    Message("MAUS-311", "missing", "web",
            "{what} cannot be overlaid on {tag}: {reason}. The plot is shown without it."),
    # --- 312-314: trends (dashboard/trends.py) ---------------------------------------------
    Message("MAUS-312", "missing", "web",
            "trends: {parameter}={value} cannot be used: {reason}"),
    Message("MAUS-313", "missing", "web",
            "No archived run among the last {runs} has {quantity} of {tag}: the plot is "
            "absent from them, or they were archived by a go.py that wrote no summaries."),
    Message("MAUS-314", "missing", "web",
            "The live plot {tag} carries no summary history: it is not in the image "
            "directory, or a go.py that writes no summaries drew it."),
    # --- 315-319: quality (dashboard/quality.py) ---------------------------------------------
    Message("MAUS-315", "missing", "web",
            "image directory {directory}: ignored the quality of sidecar {name}: {reason}"),
    Message("MAUS-316", "missing", "web",
            "{directory}: skipped the quality summary {name}: {reason}"),
    Message("MAUS-317", "missing", "web",
            "No quality summary: {directory} holds no readable quality.json. go.py writes it "
            "at each refresh of plots with quality checks; the cards show each plot's own "
            "quality."),
    # --- 320-329: the farm on the page and /metrics (dashboard/farm.py, metrics.py) --------
    Message("MAUS-320", "farm", "web",
            "image directory {directory}: ignored {name}: {reason}"),
    Message("MAUS-321", "farm", "web",
            "Farm: no status from go.py since {since} ({age} ago; a status older than "
            "{seconds} s says nothing about the farm now). Is go.py running?"),
    Message("MAUS-322", "farm", "web",
            "Farm: no status from go.py: {reason} ({directory}). go.py writes farm.json "
            "there every 2 s while it runs."),
    Message("MAUS-323", "farm", "web", "Farm alarm: {alarms}."),
    Message("MAUS-324", "farm", "web",
            "refused /metrics to {address}: it is not in MAUS_WEB_METRICS_ALLOWED ({allowed})"),
    Message("MAUS-325", "farm", "web",
            "/metrics is unavailable: {error}. Install prometheus-client in the front-end's "
            "environment."),
)


#: How a message that already carries an identifier starts.
CODED = re.compile(r"MAUS-\d{3} ")


def say(code: str, **fields: object) -> str:
    """The catalogued message ``code`` with ``fields`` filled in."""
    return CATALOGUE[code].format(**fields)


def say_unless_coded(code: str, reason: object, **fields: object) -> str:
    """``reason`` itself when it is already a catalogued message, else message ``code``
    wrapping it: one identifier per line, the most specific one."""
    text = str(reason)
    return text if CODED.match(text) else say(code, reason=text, **fields)


def by_symptom() -> dict[str, list[Message]]:
    """The catalogue grouped as the guide is: by symptom, in :data:`SYMPTOMS` order."""
    groups: dict[str, list[Message]] = {symptom: [] for symptom in SYMPTOMS}
    for message in CATALOGUE.values():
        groups[message.symptom].append(message)
    return groups
