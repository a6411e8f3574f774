"""SLA classes, application classes and transport costs: defaults, overrides and their errors.

Errors name file, line and field like every other inventory field; the resolved intent orders
each application's paths (transport x hub) and never offers LTE to a class that may not use it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from storestack.inventory import load_fleet
from storestack.inventory.models import SlaClass
from storestack.network.build import NetworkIntent
from storestack.network.sla import consecutive_losses, detection_seconds_within, expected_detection_seconds

FLEET_SLA = """
sla:
  classes:
    strict: {loss_percent: 10, latency_ms: 150, jitter_ms: 30, detection_seconds: 5, probe_interval_ms: 20,
             hold_down_seconds: 1, recovery_seconds: 15}
    loose: {loss_percent: 20, latency_ms: 400, jitter_ms: 100}
  applications:
    pos: {sla: strict, segments: [pos], dscp: af31}
    office: {sla: loose, segments: [office], transports: [broadband, fiber, lte], dscp: af21}
    guest: {sla: loose, segments: [guest-wifi], transports: [fiber, lte], cellular: false}
  transports:
    lte: {cost_per_gb: 3.5, data_cap_gb: 40}
"""


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_existing_inventories_validate_and_get_the_default_classes(fleet_dir: Path) -> None:
    fleet = load_fleet(fleet_dir)
    sla = NetworkIntent(fleet).store("sh-0001").sla

    # The base store has pos, office and guest Wi-Fi: those applications, each with paths.
    assert {a.name for a in sla.applications} >= {"pos", "voice", "back-office", "guest"}
    pos = sla.application("pos")
    assert pos.sla.name == "strict" and pos.cellular
    assert [(p.transport, p.hub) for p in pos.paths] == [
        ("wan1", "hq-hub1"),
        ("wan1", "hq-hub2"),
        ("lte1", "hq-hub1"),
        ("lte1", "hq-hub2"),
    ]
    guest = sla.application("guest")
    assert not guest.overlay and [p.transport for p in guest.paths] == ["wan1"]
    assert {t.transport: t.data_cap_gb for t in sla.transports} == {"wan1": None, "lte1": 100}


def test_fleet_classes_and_a_store_override(fleet_dir: Path) -> None:
    _append(fleet_dir / "fleet.yaml", FLEET_SLA)
    _append(
        fleet_dir / "stores" / "sh-0002.yaml",
        "sla:\n  classes:\n    strict: {loss_percent: 5, latency_ms: 100, jitter_ms: 20}\n",
    )
    intent = NetworkIntent(load_fleet(fleet_dir))

    first, second = intent.store("sh-0001").sla, intent.store("sh-0002").sla
    assert first.application("pos").sla.thresholds.loss_percent == 10
    assert first.application("pos").sla.timers.recovery_seconds == 15
    assert second.application("pos").sla.thresholds.loss_percent == 5  # the store's own class
    # ...under a name of its own: a hub serving both stores never sees two timers under one name.
    assert (first.application("pos").sla.probe, second.application("pos").sla.probe) == (
        "SLA-STRICT",
        "SLA-STRICT-SH-0002",
    )
    # Guest may never leave on LTE, whatever its transport list says.
    assert all(not p.cellular for p in first.application("guest").paths)
    assert {t.transport: (t.cost_per_gb, t.data_cap_gb) for t in first.transports}["lte1"] == (3.5, 40)
    # Port-less applications of a segment come last, and every application has its own mark.
    marks = [a.mark for a in first.applications]
    assert len(set(marks)) == len(marks)


@pytest.mark.parametrize(
    ("fleet_text", "store_text", "expected"),
    [
        (
            "sla:\n  applications:\n    pos: {sla: strickt, segments: [pos], dscp: af31}\n",
            "",
            ["fleet.yaml:{n} sla.applications.pos.sla: unknown SLA class 'strickt' (did you mean 'strict'?)"],
        ),
        (
            "sla:\n  classes:\n    strict: {loss_percent: 0, latency_ms: 150, jitter_ms: 30}\n",
            "",
            ["fleet.yaml:{n} sla.classes.strict.loss_percent: 0 is out of range (must be more than 0.0)"],
        ),
        (
            "",
            "sla:\n  applications:\n    tills: {sla: strict, segments: [pos], dscp: af31}\n",
            [
                "stores/sh-0001.yaml:{m} sla.applications.tills.segments[0]: segment 'pos' already sends all its"
                " other traffic to application 'pos' (give one of them ports)"
            ],
        ),
    ],
    ids=["unknown-class", "zero-loss", "two-catch-alls"],
)
def test_sla_errors_name_file_line_and_field(
    fleet_dir: Path,
    errors_of: Callable[[Path], list[str]],
    fleet_text: str,
    store_text: str,
    expected: list[str],
) -> None:
    fleet_file, store_file = fleet_dir / "fleet.yaml", fleet_dir / "stores" / "sh-0001.yaml"
    n = len(fleet_file.read_text().splitlines()) + 3  # the line of the third appended line
    m = len(store_file.read_text().splitlines()) + 3
    _append(fleet_file, fleet_text)
    _append(store_file, store_text)
    assert errors_of(fleet_dir) == [line.format(n=n, m=m) for line in expected]


def test_a_data_cap_on_a_wired_link_is_an_error(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    store_file = fleet_dir / "stores" / "sh-0001.yaml"
    store_file.write_text(
        store_file.read_text().replace("    priority: 10\n", "    priority: 10\n    data_cap_gb: 50\n")
    )
    line = store_file.read_text().splitlines().index("    data_cap_gb: 50") + 1
    assert errors_of(fleet_dir) == [
        f"stores/sh-0001.yaml:{line} wan[0].data_cap_gb: a data cap applies to LTE/5G links, not fiber"
    ]


def test_guest_wifi_leaves_only_through_the_breakout_link(fleet_dir: Path) -> None:
    # A second wired link that the guest application prefers: every platform still NATs guest
    # Wi-Fi out of the first wired link, and the intent says so rather than offering the other.
    store_file = fleet_dir / "stores" / "sh-0001.yaml"
    store_file.write_text(
        store_file.read_text().replace(
            "  - name: lte1\n",
            "  - name: wan2\n    kind: broadband\n    isp: Virgin\n    bandwidth_mbps: 200\n    priority: 20\n"
            "  - name: lte1\n",
        )
    )
    intent = NetworkIntent(load_fleet(fleet_dir)).store("sh-0001")
    guest = intent.sla.application("guest")
    assert intent.guest_breakout == "wan1"
    assert [(p.transport, p.hub) for p in guest.paths] == [("wan1", None)]


def test_a_guest_application_that_refuses_the_breakout_link_is_an_error(
    fleet_dir: Path, errors_of: Callable[[Path], list[str]]
) -> None:
    store_file = fleet_dir / "stores" / "sh-0001.yaml"
    _append(
        store_file,
        "sla:\n  applications:\n"
        "    guest: {sla: best-effort, segments: [guest-wifi], transports: [broadband], cellular: false}\n",
    )
    line = store_file.read_text().splitlines().index("    kind: fiber") + 1
    assert errors_of(fleet_dir) == [
        f"stores/sh-0001.yaml:{line} wan[0].kind: link wan1 (fiber) is where guest Wi-Fi breaks out (the "
        "store's first wired link), and application guest does not list fiber in its transports "
        "(broadband); guest Wi-Fi leaves through that link only"
    ]


def test_the_probe_count_notices_the_threshold_within_the_detection_time() -> None:
    cls = SlaClass(loss_percent=25, latency_ms=150, jitter_ms=30, detection_seconds=10, probe_interval_ms=20)
    count = consecutive_losses(cls)
    assert expected_detection_seconds(20, count, 25) <= 10 < expected_detection_seconds(20, count + 1, 25)
    # A link losing 5 % loses that many in a row hundreds of times more rarely.
    assert expected_detection_seconds(20, count, 5) > 300 * expected_detection_seconds(20, count, 25)


def test_the_time_within_which_most_breaches_are_noticed_is_the_run_length_tail() -> None:
    """One probe lost is noticed at once: within n probes in a share s of runs where
    1 - (1 - p)^n >= s. Three in a row at 30 % loss: a seeded simulation of 20,000 runs agrees,
    and 95 of 100 take up to about three times the mean, which a single drill must be judged by."""
    assert detection_seconds_within(200, 1, 30, 0.95) == math.ceil(math.log(0.05) / math.log(0.7)) * 0.2
    draws = random.Random(7)

    def probes_until_three_in_a_row() -> int:
        run = probes = 0
        while run < 3:
            probes += 1
            run = run + 1 if draws.random() < 0.3 else 0
        return probes

    runs = sorted(probes_until_three_in_a_row() for _ in range(20_000))
    simulated = runs[int(0.95 * len(runs))] * 0.2
    within = detection_seconds_within(200, 3, 30)
    assert abs(within - simulated) <= 0.05 * simulated
    assert 2.5 * expected_detection_seconds(200, 3, 30) < within < 3.5 * expected_detection_seconds(200, 3, 30)
    assert detection_seconds_within(200, 3, 0) == math.inf
