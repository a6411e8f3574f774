"""One error root, one family per concern, and the exit codes a user sees for each.

Exit codes (README): 0 ok, 1 the work ran and failed, 2 the request itself was wrong and nothing
ran. The CLI derives them from the error's family in one place (`cli.common.EXIT_CODES`).
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from storestack.cli import main as cli_main
from storestack.cli.common import EXIT_FAILED, EXIT_USAGE, exit_code_for, json_option
from storestack.common.destroyguard import DestroyRefusedError
from storestack.common.errors import FAMILIES, StorestackError, UsageError
from storestack.common.journal import JournalError
from storestack.components.common import ComponentArgsError
from storestack.devices.errors import PushConfigError, RenderError, SessionLostError
from storestack.devices.targets import AppliancesFileError, CredentialsError
from storestack.inventory.errors import InventoryError, InventoryIssue, IpamExhaustedError, RefusedFileError
from storestack.inventory.fleet import UnknownStoreError
from storestack.inventory.generate import GenerateError
from storestack.lab.emulator.server import EmulatorError
from storestack.lab.errors import LabCommandError, LabNotFoundError, LabPrerequisiteError, UnknownLinkError
from storestack.network.errors import NetworkIntentError, SecretUnavailableError, StackOutputsError
from storestack.rollout.errors import RolloutConfigError, RolloutInventoryError
from storestack.stacks.errors import PassphraseMissingError, PulumiOperationError, StackConfigError

CONCERNS = ("cli", "common", "components", "devices", "inventory", "lab", "network", "rollout", "stacks")
ISSUE = InventoryIssue("fleet.yaml", 3, "stores[0].id", "is not unique")


def _error_classes() -> list[type[BaseException]]:
    """Every public exception class defined in a storestack module."""
    found = []
    names = []
    for concern in CONCERNS:
        package = importlib.import_module(f"storestack.{concern}")
        names.append(package.__name__)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    for module_name in names:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found.append(value)
    return found


def test_every_error_storestack_defines_has_the_one_root_and_exactly_one_family() -> None:
    classes = _error_classes()
    assert len(classes) > 40  # the walk really found the concerns' errors
    for error in classes:
        assert issubclass(error, StorestackError), f"{error.__module__}.{error.__name__} is outside StorestackError"
        if error in (StorestackError, UsageError, RefusedFileError, *FAMILIES):
            continue
        families = [family for family in FAMILIES if issubclass(error, family)]
        assert len(families) == 1, f"{error.__name__} belongs to {families}"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InventoryError([ISSUE]), EXIT_FAILED),
        (IpamExhaustedError([ISSUE]), EXIT_FAILED),
        (UnknownStoreError("nw-9", ["nw-0001"]), EXIT_USAGE),
        (GenerateError("--stores must be between 1 and 10000"), EXIT_USAGE),
        (StackConfigError("no core stack"), EXIT_USAGE),
        (PassphraseMissingError("PULUMI_CONFIG_PASSPHRASE"), EXIT_USAGE),
        (PulumiOperationError("update failed"), EXIT_FAILED),
        (ComponentArgsError("cannot split"), EXIT_USAGE),
        (RenderError("template fault"), EXIT_USAGE),
        (StackOutputsError("outputs unreadable"), EXIT_USAGE),
        (NetworkIntentError("transit pool full"), EXIT_USAGE),
        (SecretUnavailableError("secret 'ipsec-psk' is not set"), EXIT_USAGE),
        (PushConfigError("no targets"), EXIT_USAGE),
        (SessionLostError("connection reset"), EXIT_FAILED),
        (CredentialsError("set STORESTACK_DEVICE_PASSWORD"), EXIT_USAGE),
        (AppliancesFileError("appliances.yaml: not YAML"), EXIT_USAGE),
        (LabPrerequisiteError("not root"), EXIT_USAGE),
        (LabNotFoundError("no lab"), EXIT_USAGE),
        (UnknownLinkError("no link"), EXIT_USAGE),
        (LabCommandError(["ip", "link"], 2, "RTNETLINK answers: File exists"), EXIT_FAILED),
        (EmulatorError("port in use"), EXIT_FAILED),
        (RolloutConfigError("lab not up"), EXIT_USAGE),
        (RolloutInventoryError([InventoryIssue("fleet.yaml", 3, "hubs", "bad")]), EXIT_FAILED),
        (JournalError("no run journal"), EXIT_USAGE),
        (DestroyRefusedError("5 of 8 store stacks would be destroyed"), EXIT_USAGE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_each_family_maps_to_its_exit_code(error: StorestackError, code: int) -> None:
    assert exit_code_for(error) == code


def test_errors_callers_catch_as_builtins_still_are_those_builtins() -> None:
    assert isinstance(UnknownStoreError("nw-9", []), KeyError)  # Fleet.store is a lookup
    # Raised inside pydantic validators, where only a ValueError becomes a ValidationError.
    assert isinstance(ComponentArgsError("x"), ValueError)
    assert isinstance(GenerateError("x"), ValueError)
    assert isinstance(AppliancesFileError("x"), ValueError)


def _group_raising(error: StorestackError) -> click.Group:
    group = cli_main._LazyGroup()

    @group.command()
    @json_option
    def boom(as_json: bool) -> None:
        raise error

    return group


@pytest.mark.parametrize(
    ("error", "code"),
    [(LabCommandError(["ip", "netns", "add", "x"], 1, "busy"), EXIT_FAILED), (LabNotFoundError("no lab in x"), EXIT_USAGE)],
)
def test_an_error_a_command_lets_escape_becomes_its_message_and_exit_code(error: StorestackError, code: int) -> None:
    group = _group_raising(error)
    plain = CliRunner().invoke(group, ["boom"])
    assert plain.exit_code == code
    assert plain.stderr.startswith("error: ") and str(error) in plain.stderr
    assert plain.exc_info is not None and plain.exc_info[0] is SystemExit  # no traceback
    as_json = CliRunner().invoke(group, ["boom", "--json"])
    assert as_json.exit_code == code
    assert json.loads(as_json.stdout) == {
        "ok": False,
        "error": str(error),
        "errors": [{"file": None, "line": None, "field": None, "message": str(error)}],
    }


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.delenv("STORESTACK_FLEET", raising=False)
    monkeypatch.chdir(tmp_path)  # the default fleet is the sample chain
    return CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["inventory", "show", "nw-9999", "--json"],
        ["devices", "show", "nw-9999", "--json"],
        ["plan", "--store", "nw-9999", "--json"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_unknown_store_is_a_usage_error_in_every_command(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli_main.cli, args)
    assert result.exit_code == EXIT_USAGE, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"ok", "error", "errors"} and payload["ok"] is False
    assert [e["message"] for e in payload["errors"]] == [payload["error"]]
    assert payload["error"].startswith("no store 'nw-9999' in the inventory")


def test_a_missing_lab_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli_main.cli, ["lab", "status", "--state-dir", str(tmp_path / "none"), "--json"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert json.loads(result.stdout)["error"].startswith(f"no lab is recorded in {tmp_path / 'none'}")


def test_resuming_an_unknown_run_is_a_usage_error_and_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = runner.invoke(cli_main.cli, ["rollout", "--resume", "rollout-nope", "--state-dir", str(state), "--json"])
    assert result.exit_code == EXIT_USAGE, result.output
    assert json.loads(result.stdout)["error"].endswith("rollout-nope.json; nothing was changed")
    assert not (state / "runs").exists() or not any((state / "runs").iterdir())
