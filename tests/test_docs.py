"""The documentation: `make docs` builds cleanly, and the configuration reference is the table of
conf/defaults.toml, every key and nothing else.

The build is the one `make docs` runs (`mkdocs build --strict`: a broken link or anchor, or a page
left out of the nav, is an error), so `make test` and CI fail on a broken page.
"""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import yaml

from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
DEFAULTS = REPO_ROOT / "conf" / "defaults.toml"
#: Options of go.py that are not configuration keys.
GO_ONLY_OPTIONS = {"configuration_file", "help", "version"}


def _load_hook() -> ModuleType:
    # docs/hooks/ is not a package: MkDocs loads the hook by path, and so does this test.
    path = DOCS / "hooks" / "config_reference.py"
    spec = importlib.util.spec_from_file_location("maus_docs_config_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def _documented_keys(markdown: str) -> list[str]:
    """The key of every row of the generated tables (the anchored first cell)."""
    return re.findall(r'^\| <a id="([^"]+)"></a>`', markdown, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built exactly as `make docs` builds it, into a temporary directory."""
    site_dir = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(REPO_ROOT / "mkdocs.yml"), "--site-dir", str(site_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr}"
    assert "WARNING" not in result.stderr, result.stderr
    return site_dir


def test_the_site_has_every_page_of_the_nav(site: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = [next(iter(entry.values())) for entry in config["nav"]]
    for page in pages:
        built = site / ("index.html" if page == "index.md" else
                        f"{page.removesuffix('.md')}/index.html")
        assert built.is_file(), f"{page} in the nav was not built"
    for required in ("index.md", "architecture.md", "configuration.md", "deployment.md"):
        assert required in pages


def test_the_built_reference_holds_every_key(site: Path) -> None:
    html = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    assert hook.MARKER not in html
    for name in tomllib.loads(DEFAULTS.read_text(encoding="utf-8")):
        assert f'id="{name}"' in html, f"configuration key {name} is missing from the site"


def test_the_site_loads_nothing_from_the_internet(site: Path) -> None:
    # The control room may have no internet: scripts, styles and fonts come with the site.
    external = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"', re.I)
    loads = {f"{page.relative_to(site)}: {tag}" for page in site.rglob("*.html")
             for tag in external.findall(page.read_text(encoding="utf-8"))}
    assert not loads, f"pages that load from the network: {sorted(loads)}"


def test_the_hook_and_the_examples_bytecode_are_not_published(site: Path) -> None:
    assert not (site / "hooks").exists()
    assert not list(site.rglob("__pycache__"))


def test_no_code_block_is_fenced_inside_a_list() -> None:
    # Python-Markdown does not see a fence indented under a list item: the block would be
    # published as one line of inline code. Indent the block by 8 spaces instead.
    nested = [f"{page.name}:{number}" for page in sorted(DOCS.glob("*.md"))
              for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
              if re.match(r" +```", line)]
    assert not nested, f"fenced code blocks inside list items: {nested}"


# --- The configuration reference ---------------------------------------------------------------

def test_the_reference_documents_exactly_the_keys_of_the_defaults() -> None:
    defined = list(tomllib.loads(DEFAULTS.read_text(encoding="utf-8")))
    documented = _documented_keys(hook.reference_markdown(DEFAULTS))
    assert sorted(documented) == sorted(defined)
    assert len(documented) == len(set(documented)), "a key is documented twice"


def test_the_reference_keeps_the_order_and_sections_of_the_defaults() -> None:
    reference = hook.reference_markdown(DEFAULTS)
    assert _documented_keys(reference) == list(hook.shipped_options(DEFAULTS))
    assert "### The dataflow" in reference
    # Each section's heading comes before its first key.
    assert reference.index("### The dataflow") < reference.index('id="type_of_dataflow"')
    assert reference.index("### Histograms and images") < reference.index('id="refresh_rate"')


def test_a_row_holds_type_default_choices_minimum_environment_and_help() -> None:
    rows = {key: line for line in hook.reference_markdown(DEFAULTS).splitlines()
            for key in _documented_keys(line)}
    options = hook.shipped_options(DEFAULTS)
    for name, option in options.items():
        row = rows[name]
        assert f"`{option.type}`" in row
        assert f"`{hook.show_value(option.default)}`" in row
        if option.env:
            assert f"`{option.env}`" in row
        for choice in option.choices or ():
            assert f"`{choice}`" in row
        if option.minimum is not None:
            assert f"≥ {option.minimum:g}" in row
        assert row.count(" | ") == 3, f"{name}: a cell break inside a cell: {row}"
    assert "*Allowed:* `DEBUG`, `INFO`, `WARNING`, `ERROR`." in rows["log_level"]
    assert "`MAUS_DOC_STORE_URL`" in rows["doc_store_url"]


def test_the_reference_shows_the_shipped_defaults_not_the_environment(monkeypatch) -> None:
    # A docs build on a machine with a farm's secrets must not publish them.
    monkeypatch.setenv("MAUS_BROKER_URL", "amqp://maus:s3cret-pw@farm:5672/maus")
    reference = hook.reference_markdown(DEFAULTS)
    assert "s3cret-pw" not in reference
    assert "`amqp://guest:guest@127.0.0.1:5672//`" in reference
    # ... and leaves the environment as it found it.
    assert os.environ["MAUS_BROKER_URL"] == "amqp://maus:s3cret-pw@farm:5672/maus"


def test_help_text_is_escaped(tmp_path: Path) -> None:
    defaults = tmp_path / "conf" / "defaults.toml"
    defaults.parent.mkdir()
    defaults.write_text(
        '# --- A | section ---\n'
        '[odd_key]\ntype = "str"\ndefault = "a|b"\n'
        'help = "Writes <prefix><tag>.png; *not* emphasis, not a | cell."\n', encoding="utf-8")
    reference = hook.reference_markdown(defaults)
    row = next(line for line in reference.splitlines() if 'id="odd_key"' in line)
    assert "&lt;prefix&gt;&lt;tag&gt;.png" in row
    assert r"\*not\*" in row and r"a \| cell" in row
    assert "### A \\| section" in reference
    assert _documented_keys(reference) == ["odd_key"]


def test_the_hook_fills_the_configuration_page_and_only_it() -> None:
    config = {"config_file_path": str(REPO_ROOT / "mkdocs.yml")}
    page = SimpleNamespace(file=SimpleNamespace(src_uri=hook.PAGE))
    source = (DOCS / hook.PAGE).read_text(encoding="utf-8")
    assert source.count(hook.MARKER) == 1
    filled = hook.on_page_markdown(source, page=page, config=config, files=None)
    assert hook.MARKER not in filled and 'id="spill_count"' in filled
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert hook.on_page_markdown(hook.MARKER, page=other, config=config, files=None) == hook.MARKER


def test_the_build_fails_when_the_marker_is_lost() -> None:
    from mkdocs.exceptions import PluginError

    page = SimpleNamespace(file=SimpleNamespace(src_uri=hook.PAGE))
    config = {"config_file_path": str(REPO_ROOT / "mkdocs.yml")}
    with pytest.raises(PluginError, match="configuration-reference"):
        hook.on_page_markdown("# Configuration\n", page=page, config=config, files=None)


# --- Options named in the prose ----------------------------------------------------------------

def _go_options_in(text: str) -> set[str]:
    """The --options of every go.py command line (and `make run ARGS=...`) in ``text``."""
    found = set()
    for command in re.findall(r"(?:go\.py|ARGS=)[^`\n]*", text):
        found |= set(re.findall(r"(?<![\w-])--([a-z][a-z0-9_]*)", command))
    return found


def test_every_go_py_option_in_the_docs_exists() -> None:
    from maus_online.configuration import load_options

    known = set(load_options(DEFAULTS)) | GO_ONLY_OPTIONS
    pages = [*sorted(DOCS.glob("*.md")), REPO_ROOT / "README.md"]
    unknown = {f"{page.name}: --{option}" for page in pages
               for option in _go_options_in(page.read_text(encoding="utf-8")) - known}
    assert not unknown, f"go.py has no such option: {sorted(unknown)}"


def test_the_option_finder_finds_options() -> None:
    text = ("```sh\npython go.py --spill_count 3 --bogus_key x\n```\n"
            "`make run ARGS=\"--spill_interval 2\"`, and `celery worker --purge` is not go.py")
    assert _go_options_in(text) == {"spill_count", "bogus_key", "spill_interval"}


def _documented_signature(name: str, obj: object) -> str:
    """``name(parameters)`` as docs/histograms.md writes it: names and defaults, no types;
    a dataclass field made by a factory shows the empty value it makes."""
    import dataclasses
    import inspect

    factories = {f.name: f.default_factory() for f in dataclasses.fields(obj)
                 if f.default_factory is not dataclasses.MISSING} \
        if dataclasses.is_dataclass(obj) else {}
    parameters = []
    for parameter in inspect.signature(obj).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.name in factories:
            parameters.append(f"{parameter.name}={factories[parameter.name]!r}")
        elif parameter.default is inspect.Parameter.empty:
            parameters.append(parameter.name)
        else:
            parameters.append(f"{parameter.name}={parameter.default!r}")
    return f"{name}({', '.join(parameters)})"


def test_the_plotting_api_is_documented_with_its_signatures() -> None:
    import reducers.plotting as plotting

    text = (DOCS / "histograms.md").read_text(encoding="utf-8")
    section = text.split("## The plotting API", 1)[1].split("\n## ", 1)[0]
    expected = []
    for name in plotting.__all__:
        obj = getattr(plotting, name)
        if not callable(obj):
            expected.append(f"`{name}`")
            continue
        expected.append(f"`{_documented_signature(name, obj)}`")
        expected += [f"`{_documented_signature(f'{name}.{method}', getattr(obj, method))}`"
                     for method, value in vars(obj).items()
                     if isinstance(obj, type) and callable(value) and not method.startswith("_")]
    missing = [signature for signature in expected if signature not in section]
    assert not missing, f"docs/histograms.md's plotting API lacks {missing}"
