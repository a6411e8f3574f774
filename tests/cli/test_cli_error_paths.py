"""What a user and a CI job see when a command cannot read its fleet or write its output: one
line naming the path, the documented exit code (2: a usage or configuration error), and with
--json one JSON object on stdout, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from testsupport.cli import FLEET, SECRETS, cli_runner
from testsupport.rendering import edited_sample_chain

from storestack.cli.main import cli
from storestack.common.errors import StorestackError
from storestack.common.files import FileWriteError, atomic_write_text
from storestack.inventory import sample_chain_path
from storestack.inventory.generate import generate_fleet, write_fleet


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    return cli_runner(monkeypatch, tmp_path)


# Each command that writes files, pointed at a folder below a regular file (what a full disk, a
# read-only mount or a typo in CI gives alike: the folder cannot be written).
WRITERS = {
    "devices render": ["devices", "render", "--out", "{out}", "--json", *FLEET],
    "devices render --with-secrets": ["devices", "render", "--with-secrets", "--out", "{out}", "--json", *FLEET],
    "stacks render": ["stacks", "render", "--out", "{out}", "--json", *FLEET],
    "plan": ["plan", "--store", "nw-0007", "--plans-dir", "{out}", "--workers", "1", "--json", *FLEET],
    "inventory export": ["inventory", "export", "--format", "nornir", "--out", "{out}", *FLEET],
    "inventory generate": ["inventory", "generate", "--stores", "2", "--out", "{out}"],
    "inventory export --json": ["inventory", "export", "--format", "ansible", "--out", "{out}", "--json", *FLEET],
    "inventory generate --json": ["inventory", "generate", "--stores", "2", "--out", "{out}", "--json"],
}
JSON_WRITERS = {name for name, args in WRITERS.items() if "--json" in args}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_output_folder_that_cannot_be_written_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path, name: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    out = blocker / "out"
    result = runner.invoke(cli, [arg.replace("{out}", str(out)) for arg in WRITERS[name]])
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, OSError)
    assert "Traceback" not in result.output
    if name in JSON_WRITERS:
        payload = json.loads(result.stdout)
        assert payload["ok"] is False
        assert str(blocker) in payload["error"] and "Not a directory" in payload["error"]
    else:
        assert f"cannot write {out}" in result.stderr
    assert blocker.read_text() == "a file, not a folder\n"
    for value in SECRETS.values():
        assert value not in result.output


def test_a_failed_write_is_a_typed_error_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(FileWriteError, match=r"cannot write .*blocker/edge\.cfg: Not a directory") as caught:
        atomic_write_text(blocker / "edge.cfg", "hostname edge\n")
    assert isinstance(caught.value, StorestackError)


@pytest.mark.parametrize(
    "args",
    [
        ["inventory", "list"],
        ["inventory", "show", "nw-0001"],
        ["network", "show", "nw-0001"],
        ["devices", "render", "--out", "configs"],
        ["devices", "lint"],
        ["stacks", "render"],
    ],
    ids=" ".join,
)
def test_a_fleet_that_is_not_there_is_a_usage_error_everywhere(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    """`inventory validate nowhere` exits 2; so does every command given `--fleet nowhere`."""
    nowhere = tmp_path / "nowhere"
    result = runner.invoke(cli, [*args, "--fleet", str(nowhere), "--json"])
    assert result.exit_code == 2, result.output
    issue = json.loads(result.stdout)["errors"][0]
    assert issue["file"] == str(nowhere / "fleet.yaml") and issue["message"] == "fleet file not found"
    assert issue["line"] is None  # no line, not line 0
    assert not (tmp_path / "configs").exists() and not (tmp_path / "stacks-out").exists()


@pytest.mark.parametrize(
    "pasted",
    ['"Sup3r.S3cret-Psk!"', "env:Sup3r.S3cret-Psk", "[Sup3r.S3cret-Psk]", "Sup3r.S3cret-Psk {x"],
    ids=["literal", "env-literal", "list", "flow-text"],
)
def test_a_secret_pasted_where_its_reference_belongs_is_never_echoed(
    runner: CliRunner, tmp_path: Path, pasted: str
) -> None:
    """`management.secrets` holds where a secret is; a value written there instead is most likely
    the secret itself, and `validate` runs in CI, whose logs many people read."""
    fleet = tmp_path / "fleet"
    shutil.copytree(sample_chain_path(), fleet)
    fleet_file = fleet / "fleet.yaml"
    text = fleet_file.read_text()
    assert "ipsec-psk: env:STORESTACK_IPSEC_PSK" in text
    fleet_file.write_text(text.replace("ipsec-psk: env:STORESTACK_IPSEC_PSK", f"ipsec-psk: {pasted}"))
    for extra in ([], ["--json"]):
        result = runner.invoke(cli, ["inventory", "validate", str(fleet), *extra])
        assert result.exit_code == 1
        assert "management.secrets.ipsec-psk" in result.output
        assert "S3cret" not in result.output


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def test_ctrl_c_reaching_the_render_workers_never_leaves_the_command_hanging(tmp_path: Path) -> None:
    """Ctrl-C signals every process of the terminal's foreground group, the render's worker
    processes too. A worker that a Ctrl-C kills mid-task loses its task, and the command then
    waited for it forever (seen once in a dozen Ctrl-Cs of `devices render` on 400 stores).
    The workers leave Ctrl-C to the command: here they finish their work, and it exits whole."""
    fleet = tmp_path / "fleet"
    write_fleet(generate_fleet(400, seed=1), fleet)
    out = tmp_path / "configs"
    storestack = Path(sys.executable).with_name("storestack")
    env = {key: value for key, value in os.environ.items() if key != "STORESTACK_FLEET"}
    command = [str(storestack), "devices", "render", "--fleet", str(fleet), "--out", str(out), "--workers", "2"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while len(workers := _children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2, "the render started no workers"
        time.sleep(0.5)  # mid-task
        for worker in workers:
            os.kill(worker, signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("devices render hung after its workers got a Ctrl-C")
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_ctrl_c_exits_130_and_answers_json_when_asked(tmp_path: Path, extra: list[str]) -> None:
    """A shell reports a Ctrl-C'd command as 130 (128 + SIGINT); 1 would read as "the work ran
    and failed", and a CI job asked for --json still gets one JSON object."""
    storestack = Path(sys.executable).with_name("storestack")
    env = {key: value for key, value in os.environ.items() if key != "STORESTACK_FLEET"}
    process = subprocess.Popen(
        [str(storestack), "inventory", "validate", "-", *extra],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        # As a terminal's foreground command gets it: a runner that starts the tests in the
        # background (a non-interactive shell's `&`) hands its children SIGINT ignored, and
        # Python then installs no KeyboardInterrupt handler at all.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30  # started, and waiting for the bundle on stdin
        while "pipe" not in Path(f"/proc/{process.pid}/wchan").read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        # stdin stays open until the command has ended: closing it would race the signal with EOF
        process.wait(timeout=30)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    if extra:
        payload = json.loads(stdout)
        assert payload["ok"] is False and "interrupted" in payload["errors"][0]["message"]
    else:
        assert b"interrupted" in stderr


def test_a_ctrl_c_the_moment_a_temporary_file_is_created_leaves_no_tmp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file exists as soon as the system call that makes it returns; a Ctrl-C
    then, before the writer holds its name, left `.NAME.xxxx.tmp` behind."""
    real_open = os.open

    def interrupted_open(file: str, flags: int, *args: int, **kwargs: object) -> int:
        fd = real_open(file, flags, *args, **kwargs)  # type: ignore[arg-type]
        if str(file).endswith(".tmp"):
            os.close(fd)
            raise KeyboardInterrupt
        return fd

    monkeypatch.setattr(os, "open", interrupted_open)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(tmp_path / "config.txt", "hostname nw-0001\n")
    assert os.listdir(tmp_path) == []


def test_validate_stdin_names_the_bundle_and_its_line(runner: CliRunner) -> None:
    """`inventory generate | inventory validate -`: an error points into what was piped, not at
    a stores/<id>.yaml that does not exist and a line counted within one document."""
    chain = sample_chain_path()
    stores = sorted((chain / "stores").glob("*.yaml"))
    bundle = (chain / "fleet.yaml").read_text() + "".join(f"---\n{path.read_text()}" for path in stores)
    bad = bundle.replace("office: {vlan: 20}", "office: {vlan: 4097}", 1)
    assert bad != bundle
    line = bad.splitlines().index(next(t for t in bad.splitlines() if "vlan: 4097" in t)) + 1
    plain = runner.invoke(cli, ["inventory", "validate", "-"], input=bad)
    assert plain.exit_code == 1
    assert any(text.startswith(f"<stdin>:{line} ") and "4097" in text for text in plain.stderr.splitlines())
    assert "stores/" not in plain.stderr
    as_json = runner.invoke(cli, ["inventory", "validate", "-", "--json"], input=bad)
    (issue,) = [i for i in json.loads(as_json.stdout)["errors"] if "4097" in i["message"]]
    assert issue["file"] == "<stdin>" and issue["line"] == line


@pytest.mark.parametrize(
    ("variable", "weak"),
    [
        ("STORESTACK_IPSEC_PSK", "aaaaaaaa"),  # every tunnel's PSK derives from it
        ("STORESTACK_TACACS_KEY", "Tacacs.Key1"),
        ("STORESTACK_LOCAL_ADMIN_PASSWORD", "passwordpass"),
    ],
)
def test_a_weak_secret_is_refused_with_exit_2_naming_its_reference(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, weak: str
) -> None:
    monkeypatch.setenv(variable, weak)
    out = tmp_path / "configs"
    result = runner.invoke(cli, ["devices", "render", "--with-secrets", "--out", str(out), "--json", *FLEET])
    assert result.exit_code == 2, result.output
    assert f"env:{variable}" in json.loads(result.stdout)["error"]
    assert weak not in result.output
    assert not out.exists() or not any(out.rglob("*.cfg"))


def test_rollout_names_the_file_line_and_field_of_an_invalid_inventory_in_its_json_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    """CI reads a rollout's inventory errors as it reads `inventory validate --json`'s: one shape,
    each issue with where it is."""
    chain = edited_sample_chain(tmp_path, "bandwidth_mbps: 1000", "bandwidth_mbps: -5", "stores/nw-0001.yaml")
    result = runner.invoke(cli, ["rollout", "nw-0001", "--dry-run", "--fleet", str(chain), "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"ok", "error", "errors"} and payload["ok"] is False
    (issue,) = payload["errors"]
    assert (issue["file"], issue["line"], issue["field"]) == ("stores/nw-0001.yaml", 12, "wan[0].bandwidth_mbps")


def test_a_rollout_that_takes_ctrl_c_exits_130(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rollout catches Ctrl-C itself (running steps finish, none starts); it still exits 130,
    as every command does on Ctrl-C, where it exited 1 as if a store had failed."""
    from storestack.cli import rollout as rollout_command
    from storestack.rollout.rollout import RolloutResult, start_journal

    def interrupted_run(options: Any, *, journal: object, observer: object, stop: threading.Event) -> RolloutResult:
        os.kill(os.getpid(), signal.SIGINT)  # reaches the command's own handler, which sets `stop`
        time.sleep(0.1)
        return RolloutResult(start_journal(options), options, "planned", interrupted=stop.is_set())

    monkeypatch.setattr(rollout_command, "run_rollout", interrupted_run)
    result = runner.invoke(cli, ["rollout", "nw-0001", "--dry-run", "--json"])
    assert result.exit_code == 130, result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["inventory", "list", "--platform", "nope", "--json"], "--platform"),
        (["inventory", "list", "--json", "--platform", "nope"], "--platform"),
        (["devices", "render", "--json", "--bogus"], "--bogus"),
        (["devices", "push", "--json", "--concurrency", "many"], "--concurrency"),
        (["drift", "--json", "--conn-timeout", "soon"], "--conn-timeout"),
        (["inventory", "show", "--json"], "STORE_ID"),
    ],
)
def test_a_usage_error_under_json_is_one_json_object_on_stdout(
    runner: CliRunner, args: list[str], field: str
) -> None:
    """A CI job that asked for --json parses stdout whatever happened; a mistyped option gave it
    nothing there (Click's text went to stderr), so `jq` failed instead of naming the option."""
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"ok", "error", "errors"} and payload["ok"] is False
    (entry,) = payload["errors"]
    assert entry["field"] == field and field in payload["error"]
    assert result.stderr == ""


def test_a_usage_error_without_json_stays_clicks_text_on_stderr(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["inventory", "list", "--platform", "nope"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--platform'" in result.stderr and "Usage:" in result.stderr


def test_an_invalid_appliance_inventory_names_each_file_line_and_field_in_json(
    runner: CliRunner, tmp_path: Path
) -> None:
    """`devices push --targets` read by the inventory's reader: its --json error held one entry
    with file, line and field null (they were only inside the message) and dropped every issue
    after the first."""
    targets = tmp_path / "targets.yaml"
    targets.write_text(
        "source: lab:x\nappliances:\n  - name: a1\n    role: hub\n    platform: frr\n"
        "    host: 127.0.0.1\n    port: huge\n    credentials: inline\n"
    )
    (tmp_path / "intended").mkdir()
    result = runner.invoke(
        cli,
        ["devices", "push", "--targets", str(targets), "--intended", str(tmp_path / "intended"),
         "--dry-run", "--state-dir", str(tmp_path / "state"), "--json"],
    )
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    where = [(e["file"], e["line"], e["field"]) for e in payload["errors"]]
    assert where == [
        (str(targets), 7, "appliances[0].port"),
        (str(targets), 8, "appliances[0].credentials"),
    ]


def test_an_unreadable_outputs_file_names_its_line_in_json(runner: CliRunner, tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.yaml"
    outputs.write_text("nw-0001:\n  tunnel: [unclosed\n")
    outputs.chmod(0o600)
    result = runner.invoke(
        cli, ["devices", "render", "--outputs", str(outputs), "--out", str(tmp_path / "out"), "--json", *FLEET]
    )
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["file"] == str(outputs) and entry["line"] is not None


def _render_with_a_terminal_on(
    stream: str, tmp_path: Path, command: tuple[str, ...] = (), stores: int = 60
) -> tuple[bytes, bytes]:
    """`devices render` (or `command`) of `stores` generated stores (render shows its bar past 50
    configs) with a terminal on `stream` (stdout or stderr) and a file on the other: (stdout,
    stderr) as each received them."""
    import pty

    fleet = tmp_path / "fleet"
    write_fleet(generate_fleet(stores, seed=1), fleet)
    leader, follower = pty.openpty()
    command = command or ("devices", "render", "--out", str(tmp_path / "out"), "--workers", "1")
    with (tmp_path / "other").open("w+b") as other:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("storestack")), *command, "--fleet", str(fleet)],
            stdout=follower if stream == "stdout" else other,
            stderr=follower if stream == "stderr" else other,
            env={**os.environ, **SECRETS, "COLUMNS": "100", "TERM": "xterm"},
        )
        os.close(follower)
        on_terminal = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                break
            if not chunk:
                break
            on_terminal += chunk
        os.close(leader)
        assert process.wait(timeout=300) == 0
        other.seek(0)
        elsewhere = other.read()
    return (on_terminal, elsewhere) if stream == "stdout" else (elsewhere, on_terminal)


def test_lint_shows_its_progress_on_a_terminal_and_only_there(tmp_path: Path) -> None:
    """`devices lint` of a large fleet works for minutes (every config rendered, then checked):
    it said nothing until the end, so a person at a terminal could not tell it from a hang. Its
    progress goes to stderr when that is a terminal, never into the report on stdout."""
    # lint shows its progress whatever the fleet's size: a small one says as much as a large one
    stdout, stderr = _render_with_a_terminal_on("stderr", tmp_path / "a", ("devices", "lint"), stores=3)
    assert b"checking" in stderr and b"rendering" in stderr
    assert b"0 finding(s)" in stdout and b"checking" not in stdout
    stdout, stderr = _render_with_a_terminal_on("stdout", tmp_path / "b", ("devices", "lint"), stores=3)
    assert b"checking" not in stdout and b"\x1b[?25l" not in stdout and b"checking" not in stderr


def test_render_progress_goes_to_stderr_and_only_when_it_is_a_terminal(tmp_path: Path) -> None:
    """Progress is for the person at the terminal, on stderr, as every other command's: render's
    drew its bar on stdout, mixed into what `> report.txt` and a terminal's scrollback keep, and
    showed none with stdout piped though stderr was a terminal."""
    stdout, stderr = _render_with_a_terminal_on("stdout", tmp_path / "a")
    assert b"rendering" not in stdout and b"\x1b[?25l" not in stdout  # no bar, no hidden cursor
    stdout, stderr = _render_with_a_terminal_on("stderr", tmp_path / "b")
    assert b"rendering" in stderr
    assert b"rendering" not in stdout


@pytest.mark.parametrize(
    ("field", "misplaced"),
    [("outside_address", "Xq9.Secret-Psk-77"), ("inside", "Xq9.Secret-Psk-77"), ("link", "Xq9 Secret Psk 77")],
)
def test_a_psk_misplaced_in_a_stack_outputs_file_is_never_echoed(
    runner: CliRunner, tmp_path: Path, field: str, misplaced: str
) -> None:
    """A stack outputs file holds PSKs (mode 0600); a value in the wrong field, a PSK pasted one
    line off, was quoted in the error ("'Xq9.Secret-Psk-77' is not an IPv4 address"), which CI
    logs keep. The error names the store and the field, never the value."""
    link = {
        "link": "wan1", "hub": "hq-hub1", "outside_address": "192.0.2.1",
        "inside": "169.254.10.2/30", "inside_peer": "169.254.10.1", "psk": "a-good-psk-0123456789",
    }
    link[field] = misplaced
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"nw-0001": {"links": [link]}}))
    outputs.chmod(0o600)
    for extra in ([], ["--json"]):
        result = runner.invoke(
            cli, ["devices", "render", "--outputs", str(outputs), "--out", str(tmp_path / "out"), *extra, *FLEET]
        )
        assert result.exit_code == 2, result.output
        assert f"links[0].{field}" in result.output
        assert "Secret" not in result.output


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_the_ci_matrix_takes_json_and_answers_a_usage_error_in_json(runner: CliRunner, extra: list[str]) -> None:
    """`stacks matrix` is JSON for CI, its errors too; `--json`, which every other command a CI
    parses takes, was refused as an unknown option, and a bad `--shards` left stdout empty."""
    ok = runner.invoke(cli, ["stacks", "matrix", *extra, *FLEET])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)
    bad = runner.invoke(cli, ["stacks", "matrix", "--shards", "0", *extra, *FLEET])
    assert bad.exit_code == 2
    (entry,) = json.loads(bad.stdout)["errors"]
    assert entry["field"] == "--shards"


@pytest.mark.parametrize(
    "args",
    [
        ["inventory", "show", "[/x]"],  # a closing tag that opens nothing: Rich raised MarkupError
        ["network", "show", "[bold]nw-0001"],  # a tag Rich took as style and dropped from the text
        ["inventory", "validate", "/nonexistent/[/red]fleet"],
    ],
)
def test_an_error_shows_brackets_of_what_was_given_as_they_are(runner: CliRunner, args: list[str]) -> None:
    """An error message quotes what the user gave (a store id, a path); read as Rich markup, a
    `[/x]` in it ended the command in a MarkupError traceback (exit 1), and a `[bold]` vanished."""
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    given = next(arg for arg in args if "[" in arg)
    assert given in result.stderr


def test_lab_up_progress_goes_to_stderr(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lab up` drew its spinner and steps on stdout, where the README promises only results:
    progress is for the person at the terminal, on stderr, as every other command's. Both
    consoles are terminals here, so whichever the spinner is drawn on records it."""
    from rich.console import Console

    from storestack.cli import lab as lab_cli
    from storestack.lab.errors import LabCommandError

    out, err = Console(record=True, force_terminal=True), Console(record=True, force_terminal=True, stderr=True)
    monkeypatch.setattr(lab_cli, "console", out)
    monkeypatch.setattr(lab_cli, "err_console", err)

    def up(topology: Any, target: Path, progress: Any = None) -> Any:
        assert progress is not None
        progress("creating the namespaces")
        time.sleep(0.3)  # a refresh of the spinner (12.5 per second) draws the step
        raise LabCommandError("ip netns add: stopped here by the test")

    monkeypatch.setattr("storestack.lab.up", up)  # imported by `lab up` when it runs
    result = runner.invoke(cli, ["lab", "up", "--stores", "nw-0001", *FLEET])
    assert result.exit_code != 0
    assert "creating the namespaces" in err.export_text()
    assert "creating the namespaces" not in out.export_text()


def test_a_refused_output_folder_or_destroy_names_the_option_in_json(runner: CliRunner, tmp_path: Path) -> None:
    """The blast-radius guard and a folder `inventory generate` will not write into: a CI job's
    --json error names the option to change (`--allow-destroy`, `--out`), not only the message."""
    fleet = tmp_path / "fleet"
    generate = ["inventory", "generate", "--out", str(fleet), "--json"]
    assert runner.invoke(cli, [*generate, "--stores", "5"]).exit_code == 0
    shrunk = runner.invoke(cli, [*generate, "--stores", "2"])
    stacks = tmp_path / "stacks"
    assert runner.invoke(cli, ["stacks", "render", "--fleet", str(fleet), "--out", str(stacks)]).exit_code == 0
    assert runner.invoke(cli, [*generate, "--stores", "1", "--allow-destroy", "4"]).exit_code == 0
    destroyed = runner.invoke(cli, ["stacks", "render", "--fleet", str(fleet), "--out", str(stacks), "--json"])
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("hand-written\n")
    foreign = runner.invoke(cli, ["inventory", "generate", "--stores", "1", "--out", str(tmp_path / "mine"), "--json"])
    for result, field in ((shrunk, "--allow-destroy"), (destroyed, "--allow-destroy"), (foreign, "--out")):
        assert result.exit_code == 2, result.output
        (entry,) = json.loads(result.stdout)["errors"]
        assert entry["field"] == field, entry


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["stacks", "render", "--shard", "5/4", "--out", "{tmp}/stacks"], "--shard"),
        (["plan", "--shard", "1/0", "--plans-dir", "{tmp}/plans"], "--shard"),
        (["devices", "render", "--hub", "no-such-hub", "--out", "{tmp}/configs"], "--hub"),
    ],
    ids=["stacks-render-shard", "plan-shard", "devices-render-hub"],
)
def test_a_bad_shard_or_hub_names_its_option_in_json(
    runner: CliRunner, tmp_path: Path, args: list[str], field: str
) -> None:
    result = runner.invoke(cli, [*(arg.format(tmp=tmp_path) for arg in args), *FLEET, "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["field"] == field, entry
    assert not any(tmp_path.iterdir()), "nothing is written"


@pytest.mark.parametrize("operation", ["preview", "up", "refresh", "destroy", "outputs"])
def test_an_engine_operation_on_a_stack_not_rendered_names_the_missing_config_file_in_json(
    runner: CliRunner, tmp_path: Path, operation: str
) -> None:
    """A CI job annotating errors by file gets the stack config that is not there, as the
    message names it, and exit 2 before the engine or any cloud is reached."""
    out = tmp_path / "stacks-out"
    result = runner.invoke(cli, [operation, "--stack", "store-nw-0001", "--out", str(out), *FLEET, "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    missing = out / "store" / "Pulumi.store-nw-0001.yaml"
    assert entry["file"] == str(missing), entry
    assert str(missing) in entry["message"] and "stacks render" in entry["message"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["rollout", "--resume", "20260101T000000-0000", "nw-0007"], "STORES"),
        (["rollout", "--dry-run"], "STORES"),
        (["rollout", "nw-0007", "nw-0007", "--dry-run"], "STORES"),
        (["rollout", "nw-0007", "--dry-run", "--lab", "--lab-dir", "{tmp}/no-lab"], "--lab"),
    ],
    ids=["resume-with-a-store", "no-store", "a-store-twice", "no-lab"],
)
def test_a_refused_rollout_names_the_argument_or_option_in_json(
    runner: CliRunner, tmp_path: Path, args: list[str], field: str
) -> None:
    """A CI job's --json error names what to change on the rollout's command line, never `null`."""
    state = tmp_path / "state"
    command = [*(arg.format(tmp=tmp_path) for arg in args), "--state-dir", str(state), "--json"]
    result = runner.invoke(cli, [*command, *([] if "--resume" in args else FLEET)])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert entry["field"] == field, entry
    assert not state.exists(), "nothing is journaled"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["devices", "show", "nw-0007", "--outputs", "{file}"], "--outputs"),
        (["devices", "lint", "--core-outputs", "{file}"], "--core-outputs"),
        (["devices", "render", "--outputs", "{file}", "--out", "{tmp}/configs"], "--outputs"),
        (["devices", "push", "--dry-run", "--outputs", "{file}"], "--outputs"),
    ],
    ids=["show-outputs", "lint-core-outputs", "render-outputs", "push-outputs"],
)
def test_an_outputs_file_others_can_read_names_its_option(
    runner: CliRunner, tmp_path: Path, args: list[str], option: str
) -> None:
    """A stack outputs file holds PSKs; one of mode 0644 is refused before anything is read or
    sent, and the refusal names the option that gave it as well as the file, text and --json."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text("{}\n")
    outputs.chmod(0o644)
    command = [*(arg.format(file=outputs, tmp=tmp_path) for arg in args), *FLEET]
    answer = runner.invoke(cli, [*command, "--json"])
    assert answer.exit_code == 2, answer.output
    (entry,) = json.loads(answer.stdout)["errors"]
    assert (entry["file"], entry["field"]) == (str(outputs), option), entry
    assert "must be mode 0600" in entry["message"]
    text = runner.invoke(cli, command)
    assert text.exit_code == 2, text.output
    assert f"error: {option}: {outputs}: holds PSKs and must be mode 0600, is 0644" in text.stderr
    assert not (tmp_path / "configs").exists()


def test_a_fleet_before_that_is_not_there_names_its_option(runner: CliRunner, tmp_path: Path) -> None:
    """`devices push --fleet-before` with a mistyped path: the loader's "fleet file not found"
    names the option, or a CI log reads it as the --fleet being wrong. Refused before any
    appliance is reached."""
    nowhere = tmp_path / "fleet-before"
    command = ["devices", "push", "--dry-run", "--fleet-before", str(nowhere), *FLEET]
    answer = runner.invoke(cli, [*command, "--json"])
    assert answer.exit_code == 2, answer.output
    (entry,) = json.loads(answer.stdout)["errors"]
    assert entry == {
        "file": str(nowhere / "fleet.yaml"), "line": None, "field": "--fleet-before", "message": "fleet file not found"
    }
    text = runner.invoke(cli, command)
    assert text.exit_code == 2, text.output
    assert "--fleet-before" in text.stderr and str(nowhere / "fleet.yaml") in text.stderr


@pytest.mark.parametrize("command", [["drift"], ["devices", "push", "--dry-run"]])
def test_an_invalid_targets_file_names_its_option_in_json(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("appliances: [\n")
    result = runner.invoke(cli, [*command, "--targets", str(targets), *FLEET, "--json"])
    assert result.exit_code == 2, result.output
    (entry,) = json.loads(result.stdout)["errors"]
    assert (entry["file"], entry["field"]) == (str(targets), "--targets"), entry
