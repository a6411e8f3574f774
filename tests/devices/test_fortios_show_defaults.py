"""FortiOS's `show` leaves out every setting at its default value. A FortiOS config that sets one
(`set pfs enable`, `set action deny` ...) never reads back from the unit as rendered: every push
sends the line again and every drift check reports it. The rendered configs set none, lint
`fortios-default-shown` flags one, and the other rules read a left-out setting as its default."""

from __future__ import annotations

import pytest
from testsupport.rendering import SHAPES, on_platform

from storestack.devices.lint import ConfigFile
from storestack.devices.lint.fortinet import default_shown, quoted_names
from storestack.devices.platforms.fortinet import SHOW_OMITS_DEFAULTS
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet, load_fleet, sample_chain_path


def _fortios() -> Fleet:
    return on_platform(load_fleet(sample_chain_path()), "fortinet")


def _configs(fleet: Fleet) -> list[ConfigFile]:
    rendered = [render_store(fleet, store_id)[0] for store_id in sorted(set(SHAPES.values()))]
    rendered.append(render_hub(fleet, "hq-hub1"))
    return [
        ConfigFile(name=c.name, platform="fortinet", role=c.role, hostname=c.name, text=c.text)
        for c in rendered
    ]


def test_no_rendered_line_sets_a_value_show_leaves_out() -> None:
    findings = [f"{c.name}:{f.line}: {f.message}" for c in _configs(_fortios()) for f in default_shown(c)]
    assert findings == []


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ("config vpn ipsec phase2-interface", "        set pfs enable"),
        ("config firewall policy", "        set action deny"),
        ("config system interface", "        set mode static"),
        ("config user tacacs+", "        set authen-type auto"),
    ],
)
def test_a_line_at_its_default_is_flagged(section: str, line: str) -> None:
    fleet = _fortios()
    text = next(c.text for c in _configs(fleet) if c.role == "hub")
    head, _, tail = text.partition(section + "\n")
    first_entry, _, rest = tail.partition("\n    next\n")  # the line ends the section's first entry
    broken = head + section + "\n" + first_entry + "\n" + line + "\n    next\n" + rest
    config = ConfigFile(name="hub.cfg", platform="fortinet", role="hub", hostname="hq-hub1", text=broken)
    assert [f.rule for f in default_shown(config)] == ["fortios-default-shown"]


def test_every_default_names_a_setting_path() -> None:
    assert all(path and setting and value for path, setting, value in SHOW_OMITS_DEFAULTS)


def test_every_name_a_setting_refers_to_is_quoted_as_show_prints_it() -> None:
    # `show` prints a string or datasource value in double quotes: `set zone "overlay"` (CLI
    # reference, config system sdwan / config members: `set zone {string}`).
    configs = _configs(_fortios())
    findings = [f"{c.name}:{f.line}: {f.message}" for c in configs for f in quoted_names(c)]
    assert findings == []
    members = [line.strip() for c in configs for line in c.lines if line.strip().startswith("set zone ")]
    assert members
    assert all(line.split(None, 2)[2].startswith('"') for line in members), members


def test_syslog_source_address_is_quoted_as_show_prints_it() -> None:
    # A syslog server's `source-ip` is a string, "source-ip {string}" (CLI reference, config log
    # syslogd setting), which `show` quotes as it quotes TACACS+'s; unquoted, it never reads back.
    for config in _configs(_fortios()):
        syslog = config.text.split("config log syslogd setting\n")[1].split("\nend")[0]
        (source,) = [line.split(None, 2)[2] for line in syslog.splitlines() if line.strip().startswith("set source-ip ")]
        assert source.startswith('"') and source.endswith('"'), (config.name, syslog)
        bare = config.text.replace(syslog, syslog.replace(f"set source-ip {source}", f"set source-ip {source[1:-1]}"))
        broken = ConfigFile(name=config.name, platform="fortinet", role=config.role, hostname=config.name, text=bare)
        assert [f.message for f in quoted_names(broken)] == [f"{source[1:-1]} (address) is not quoted, as FortiOS shows it"]
