"""What a user gave or a device reported (a path, a lab's name, a problem the lab found, why a
tunnel is down) is printed as it is: brackets in it are text, never Rich markup. Read as markup, a `[/x]`
ended the command in a MarkupError traceback and a `[bold]` vanished from the text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.text import Text

import storestack.cli.common as common
import storestack.cli.lab as lab_cli
from storestack.cli.main import cli
from storestack.inventory import sample_chain_path
from storestack.lab.check import LabCheck, TunnelCheck
from storestack.lab.overlay import TunnelStatus

# A style tag Rich took as style and dropped from the text (a folder name cannot hold the `/` of
# a closing tag; a path can: `x[/x]` is the folder `x]` in `x[`, and Rich raised MarkupError).
FOLDER_NAMES = ["[bold]y", "z[red]"]
PATHS = ["x[/x]", "[bold]y"]
# What charon logged for a tunnel that is down, and the problems the lab found.
REASON = "peer [bold]10.0.0.1[/] sent [/x] AUTHENTICATION_FAILED"
PROBLEMS = ["nw-0001 [bold]wan1[/] carries cleartext", "tunnel [/x] is down"]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("STORESTACK_FLEET", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """stdout as a colour terminal (what a user at a shell sees), not the plain rows of a pipe."""
    out = io.StringIO()
    shell = Console(file=out, force_terminal=True, width=250, highlight=False)
    for module in (common, lab_cli):
        monkeypatch.setattr(module, "console", shell)
    return out


def plain(text: str) -> str:
    """What the terminal shows, its colours left out."""
    return Text.from_ansi(text).plain


@pytest.mark.parametrize("dirname", FOLDER_NAMES)
def test_a_state_dir_with_brackets_is_named_as_it_is(runner: CliRunner, tmp_path: Path, dirname: str) -> None:
    result = runner.invoke(cli, ["lab", "down", "--state-dir", str(tmp_path / dirname)])
    assert result.exit_code == 0, result.output
    assert f"lab {dirname}: nothing to stop" in result.stdout


@pytest.mark.parametrize("path", PATHS)
def test_an_output_folder_with_brackets_is_named_as_it_is(runner: CliRunner, tmp_path: Path, path: str) -> None:
    out = tmp_path / path
    result = runner.invoke(cli, ["stacks", "render", "--fleet", str(sample_chain_path()), "--out", str(out)])
    assert result.exit_code == 0, result.output
    # The line wraps at 80 columns, anywhere (the path holds no white space): compared without it.
    assert f"into{out}:" in "".join(result.stdout.split())


def _lab_check(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`lab check` of a lab that measured a tunnel down and two problems (the lab needs root to
    start; its measured result stands in for it)."""
    tunnel = TunnelStatus(
        id="nw-0001-wan1-hq-hub1", initiator="nw-0001", responder="hq-hub1", up=False,
        ike_proposal=None, esp_proposal=None, local=None, remote=None,
    )
    measured = LabCheck(
        name="lab[1]", tunnels=[TunnelCheck(tunnel=tunnel, reason=REASON)], bgp=[], bfd=[], wan=[],
        reachability=[], problems=PROBLEMS,
    )
    monkeypatch.setattr("storestack.lab.check.check", lambda *_args: measured)
    # no lab was recorded by `lab up` either: the state dir stands in for one
    monkeypatch.setattr(lab_cli, "recorded_lab", lambda _name, state_dir: state_dir)
    result = runner.invoke(
        cli, ["lab", "check", "--fleet", str(sample_chain_path()), "--state-dir", str(tmp_path / "lab")]
    )
    assert result.exit_code == 1, result.output
    return result.stdout


def _shows_what_the_lab_found(shown: str) -> None:
    for problem in PROBLEMS:
        assert f"✗ {problem}" in shown
    assert "lab lab[1] check failed (2 problems)" in shown
    assert f"down {REASON}" in shown


def test_lab_check_prints_what_the_lab_found_as_it_is_piped(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shows_what_the_lab_found(_lab_check(runner, tmp_path, monkeypatch))


def test_lab_check_prints_what_the_lab_found_as_it_is_on_a_terminal(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: io.StringIO
) -> None:
    _lab_check(runner, tmp_path, monkeypatch)
    _shows_what_the_lab_found(plain(terminal.getvalue()))


def test_markup_styles_the_template_and_keeps_each_value_as_text() -> None:
    text = common.markup("[green]ok[/] {} in {}", "[/x]", "C:\\fleet\\")
    assert text.plain == "ok [/x] in C:\\fleet\\"
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 2, "green")]


def test_markup_prints_a_value_holding_markup_literally_inside_and_outside_a_style() -> None:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=250, highlight=False).print(
        common.markup("[red]{}[/] then {}", "[red]x[/]", "a [/] b [bold]c")
    )
    assert plain(out.getvalue()) == "[red]x[/] then a [/] b [bold]c\n"
    text = common.markup("[red]{}[/] then {}", "[red]x[/]", "a [/] b [bold]c")
    assert [(span.start, span.end, str(span.style)) for span in text.spans] == [(0, 9, "red")]


def test_markup_puts_each_value_where_its_slot_is_whatever_characters_they_hold() -> None:
    # Private-use characters are icons in some terminal fonts (a folder or a device may name
    # itself with one); each value and the template keep theirs, in their own places.
    icon = "\ue000"
    assert common.markup("{} {}", "\ue001", "x").plain == "\ue001 x"
    assert common.markup("[green]" + icon + "[/] {}", "lab").plain == icon + " lab"
    assert common.markup("{} and {}", icon, icon * 2).plain == f"{icon} and {icon * 2}"
