"""Hostile inventories, end to end through the CLI: refused with a clear message, or rendered
without the injection.

Hypothesis takes a generated chain, splices a hostile string into one of its string values
(newlines with CLI commands, `!`, `exit`, `end`, unicode confusables and invisible characters,
very long values) or hostile YAML into the file text (anchors, aliases, tags), writes the chain
to disk and runs `storestack devices render` and `storestack stacks render` on it. Either the
command refuses with one message line per problem naming a file and line, and exits 1 or 2; or
every config it wrote has exactly the lines the untouched chain gives (nothing broke out of its
line) and only printable ASCII. Never a traceback.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from testsupport import yamltext

from storestack.cli.main import cli
from storestack.inventory.generate import generate_fleet

INJECTIONS = [
    "\nno router bgp 65001",
    "\r\nend",
    "\nexit\nhostname pwned",
    "\n!\nline vty 0 4\n transport input telnet",
    " !",
    "!",
    " exit",
    " end",
    "\u0430",  # Cyrillic a
    "\u2010",  # unicode hyphen
    "\u200b",  # zero width space
    "\uff21",  # fullwidth A
    "\x1b[2J",
    "\t",
    "\x00",
    '"; set vdom root',
    "$(reboot)",
    "A" * 300,
    "-" * 5000,
]
# Allowed characters, suspicious words: free text may carry them, but only inside its own line.
WORDS = [" end", " exit", " no router bgp 65001", " (end)", " write erase", "'s end"]
YAML_SPLICES = [
    "&anchor ",
    "*anchor",
    "!!python/object/apply:os.system ['id'] ",
    "!!str ",
    "!custom ",
    "<<: *base\n",
    "? complex\n",
]
ISSUE_LINE = re.compile(r"^(error: )?(fleet\.yaml|stores/[^:\s]+\.yaml)(:\d+)?[: ]")
PRINTABLE = re.compile(r"[\x20-\x7e\n]*")
SAFE_NAME = re.compile(r"[a-z0-9-]{1,60}")


def _string_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, str):
        return [prefix]
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _string_paths(value, (*prefix, key))]
    if isinstance(data, list):
        return [p for index, value in enumerate(data) for p in _string_paths(value, (*prefix, index))]
    return []


def _write(root: Path, documents: list[dict[str, Any]], splice: tuple[int, int, str] | None = None) -> Path:
    (root / "stores").mkdir(parents=True)
    texts = [yamltext.dump(document, sort_keys=False, allow_unicode=True) for document in documents]
    if splice is not None:
        index, position, text = splice
        target = texts[index]
        texts[index] = target[:position] + text + target[position:]
    (root / "fleet.yaml").write_text(texts[0], encoding="utf-8")
    for number, (document, text) in enumerate(zip(documents[1:], texts[1:], strict=True)):
        # A store file is named after its id; a hostile id gets a name the file system takes.
        store_id = document.get("id")
        name = store_id if isinstance(store_id, str) and SAFE_NAME.fullmatch(store_id) else f"s-{number:02d}"
        (root / "stores" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def _render(fleet: Path, out: Path) -> tuple[Result, Result]:
    runner = CliRunner()
    devices = runner.invoke(cli, ["devices", "render", "--fleet", str(fleet), "--out", str(out / "devices")])
    stacks = runner.invoke(cli, ["stacks", "render", "--fleet", str(fleet), "--out", str(out / "stacks")])
    return devices, stacks


def _files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()}


def _check(result: Result) -> bool:
    """True when the command succeeded; otherwise it must have failed cleanly and clearly."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return True
    assert result.exit_code in (1, 2), result.output
    issues = [line for line in result.output.splitlines() if ISSUE_LINE.match(line)]
    assert issues, f"no message names a file:\n{result.output}"
    return False


def _assert_same_shape(rendered: dict[str, str], baseline: dict[str, str], what: str) -> None:
    assert sorted(rendered) == sorted(baseline) or len(rendered) == len(baseline), what
    for (name, text), base in zip(sorted(rendered.items()), [baseline[k] for k in sorted(baseline)], strict=True):
        assert PRINTABLE.fullmatch(text), f"{name}: a non-ASCII or control character was rendered"
        assert text.count("\n") == base.count("\n"), f"{name}: the hostile value changed the line count"


@st.composite
def hostile_chains(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[int, int, str] | None]:
    generated = generate_fleet(draw(st.integers(1, 2)), draw(st.integers(0, 500)))
    clean = [generated.fleet, *generated.stores]
    documents = copy.deepcopy(clean)
    splice = None
    branch = draw(st.sampled_from(["words", "inject", "inject", "splice"]))
    if branch == "words":
        store = draw(st.sampled_from(documents[1:]))
        field = draw(st.sampled_from(["name", "city", "isp"]))
        holder = draw(st.sampled_from(store["wan"])) if field == "isp" else store
        holder[field] = holder[field][:40] + draw(st.sampled_from(WORDS))
    elif branch == "inject":
        index = draw(st.integers(0, len(documents) - 1))
        path = draw(st.sampled_from(_string_paths(documents[index])))
        parent: Any = documents[index]
        for part in path[:-1]:
            parent = parent[part]
        original: str = parent[path[-1]]
        injection = draw(st.sampled_from(INJECTIONS))
        cut = draw(st.sampled_from([0, len(original)]))
        parent[path[-1]] = original[:cut] + injection + original[cut:]
    else:
        index = draw(st.integers(0, len(documents) - 1))
        length = len(yamltext.dump(documents[index], sort_keys=False, allow_unicode=True))
        splice = (index, draw(st.integers(0, length)), draw(st.sampled_from(YAML_SPLICES)))
    return clean, documents, splice


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(hostile_chains())
def test_hostile_inventory_is_refused_clearly_or_rendered_without_the_injection(
    tmp_path_factory: Any, chain: tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[int, int, str] | None]
) -> None:
    clean, hostile, splice = chain
    work = tmp_path_factory.mktemp("hostile")
    devices, stacks = _render(_write(work / "hostile", hostile, splice), work / "out-hostile")
    devices_ok, stacks_ok = _check(devices), _check(stacks)
    event(f"devices {'rendered' if devices_ok else 'refused'}, stacks {'rendered' if stacks_ok else 'refused'}")
    if not (devices_ok or stacks_ok):
        return
    base_devices, base_stacks = _render(_write(work / "clean", clean), work / "out-clean")
    assert base_devices.exit_code == 0 and base_stacks.exit_code == 0
    if devices_ok:
        _assert_same_shape(_files(work / "out-hostile" / "devices"), _files(work / "out-clean" / "devices"), "devices")
    if stacks_ok:
        for name, text in _files(work / "out-hostile" / "stacks").items():
            assert PRINTABLE.fullmatch(text), f"{name}: a non-ASCII or control character reached a stack config"
            if name.endswith(".yaml"):
                # Whatever was accepted reads back as YAML data: the quoting held.
                assert isinstance(yamltext.load(text), dict), name
