"""Guest DNS and NTP authentication on every platform: the rendered configs follow the intent,
and the `guest-dns` / `ntp-auth` rules catch a config that lets guests use a private resolver,
answers their DNS, or takes unauthenticated time."""

from __future__ import annotations

import dataclasses
import re

import pytest
from testsupport.rendering import SHAPES, TEST_SECRETS, on_platform

from storestack.devices.configdiff import redactor_for
from storestack.devices.lint import ConfigFile, Finding
from storestack.devices.lint.services import GUEST_DNS, GUEST_LEASE, NTP_AUTH, services_check
from storestack.devices.render import render_hub, render_store
from storestack.inventory import Fleet
from storestack.network.build import NetworkIntent
from storestack.network.errors import SecretUnavailableError

PLATFORMS = ("cisco_xe", "huawei_vrp", "fortinet", "frr")
VENDORS = ("cisco_xe", "huawei_vrp", "fortinet")
GUEST_STORE = SHAPES["mall-guest"]


def _store(fleet: Fleet, platform: str, store_id: str = GUEST_STORE) -> ConfigFile:
    (config,) = render_store(on_platform(fleet, platform), store_id)
    companions = {"": config.text, **dict(config.companions)}
    return ConfigFile(config.filename, platform, "edge", config.name, config.text, store_id, "", companions)


def _hub(fleet: Fleet, platform: str) -> ConfigFile:
    config = render_hub(on_platform(fleet, platform), "hq-hub1")
    companions = {"": config.text, **dict(config.companions)}
    return ConfigFile(config.filename, platform, "hub", config.name, config.text, None, "", companions)


def _check(fleet: Fleet, config: ConfigFile) -> list[Finding]:
    return list(services_check([config], NetworkIntent(on_platform(fleet, config.platform))))


def _broken(config: ConfigFile, old: str, new: str, suffix: str = "") -> ConfigFile:
    """`config` with `old` replaced in its main text ("") or in one companion file."""
    text = config.companions.get(suffix, config.text) if suffix else config.text
    assert old in text, f"{old!r} is not in the rendered {config.platform} {suffix or 'config'}"
    if suffix:
        return dataclasses.replace(
            config, companions={**config.companions, suffix: text.replace(old, new, 1)}
        )
    return dataclasses.replace(config, text=text.replace(old, new, 1))


def _rules(findings: list[Finding]) -> set[str]:
    return {finding.rule for finding in findings}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_rendered_store_services_are_clean(fleet: Fleet, platform: str, shape: str) -> None:
    assert _check(fleet, _store(fleet, platform, SHAPES[shape])) == []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_rendered_hub_ntp_is_authenticated(fleet: Fleet, platform: str) -> None:
    assert _check(fleet, _hub(fleet, platform)) == []


# ---------------------------------------------------------------- guest DNS


def test_guest_dhcp_hands_out_the_public_resolvers_on_every_platform(fleet: Fleet) -> None:
    guest_dns = [str(a) for a in fleet.spec.management.guest_dns]
    assert guest_dns == ["9.9.9.9", "149.112.112.112"]
    spelled = {
        "cisco_xe": " dns-server 9.9.9.9 149.112.112.112",
        "huawei_vrp": " dhcp server dns-list 9.9.9.9 149.112.112.112",
        "fortinet": "        set dns-server1 9.9.9.9\n        set dns-server2 149.112.112.112",
    }
    for platform, line in spelled.items():
        assert line in _store(fleet, platform).text
    dnsmasq = _store(fleet, "frr").companions["dnsmasq.conf"]
    assert "dhcp-option=tag:guest-wifi,option:dns-server,9.9.9.9,149.112.112.112" in dnsmasq
    # every other segment keeps the store's caching forwarder at its gateway
    assert "dhcp-option=tag:pos,option:dns-server,10." in dnsmasq


@pytest.mark.parametrize(
    ("platform", "old", "new", "suffix"),
    [
        ("cisco_xe", " dns-server 9.9.9.9 149.112.112.112", " dns-server 10.0.1.53", ""),
        (
            "huawei_vrp",
            " dhcp server dns-list 9.9.9.9 149.112.112.112",
            " dhcp server dns-list 192.168.1.1",
            "",
        ),
        ("fortinet", "set dns-server1 9.9.9.9", "set dns-server1 10.0.1.53", ""),
        ("frr", "option:dns-server,9.9.9.9,149.112.112.112", "option:dns-server,10.64.4.129", "dnsmasq.conf"),
    ],
)
def test_guest_dhcp_handing_out_a_private_resolver(
    fleet: Fleet, platform: str, old: str, new: str, suffix: str
) -> None:
    findings = _check(fleet, _broken(_store(fleet, platform), old, new, suffix))
    assert _rules(findings) == {GUEST_DNS}
    assert "private/corporate resolver" in findings[0].message


@pytest.mark.parametrize(
    ("platform", "old", "new", "suffix"),
    [
        ("cisco_xe", " dns-server 9.9.9.9 149.112.112.112\n", " dns-server 9.9.9.9 149.112.112.112\n domain-name northwind.example\n", ""),
        (
            "huawei_vrp",
            " dhcp server dns-list 9.9.9.9 149.112.112.112\n",
            " dhcp server dns-list 9.9.9.9 149.112.112.112\n dhcp server domain-name northwind.example\n",
            "",
        ),
        ("fortinet", "set dns-server2 149.112.112.112\n", 'set dns-server2 149.112.112.112\n        set domain "northwind.example"\n', ""),
        ("frr", "no-resolv\n", "no-resolv\ndomain=northwind.example\n", "dnsmasq.conf"),
    ],
)
def test_guest_dhcp_handing_out_the_corporate_domain(
    fleet: Fleet, platform: str, old: str, new: str, suffix: str
) -> None:
    """Guests get no DNS domain (every other segment gets the chain's): with it, a guest's
    lookups of short names go to the public resolvers as internal names, and every guest learns
    the chain's internal domain."""
    config = _store(fleet, platform)
    assert _check(fleet, config) == []
    findings = _check(fleet, _broken(config, old, new, suffix))
    assert _rules(findings) == {GUEST_DNS}, findings
    assert "hands out the domain northwind.example" in findings[0].message


def test_guest_dhcp_handing_out_another_public_resolver(fleet: Fleet) -> None:
    broken = _broken(_store(fleet, "cisco_xe"), " dns-server 9.9.9.9 149.112.112.112", " dns-server 8.8.8.8")
    (finding,) = _check(fleet, broken)
    assert finding.rule == GUEST_DNS and "the intent says 9.9.9.9, 149.112.112.112" in finding.message


@pytest.mark.parametrize(
    ("platform", "old", "new", "suffix", "why"),
    [
        (
            "cisco_xe",
            "ip access-list extended GUEST-TO-SELF\n",
            "ip access-list extended GUEST-TO-SELF\n 20 permit udp any any eq domain\n",
            "",
            "answers guest Wi-Fi",
        ),
        (
            "cisco_xe",
            "ip access-list extended INTERNET-wan1-TO-SELF\n",
            "ip access-list extended INTERNET-wan1-TO-SELF\n 5 permit udp any any eq domain\n",
            "",
            "open resolver",
        ),
        ("huawei_vrp", " traffic-filter inbound acl name GUEST-IN\n", "", "", "DNS proxy"),
        (
            "fortinet",
            "config system dns-server\n",
            'config system dns-server\n    edit "wan1"\n    next\n',
            "",
            "no LAN segment",
        ),
        ("frr", "udp dport 67 accept", "udp dport { 53, 67 } accept", "nftables.conf", "answers guest Wi-Fi"),
    ],
)
def test_store_resolver_answering_guests_or_the_wan(
    fleet: Fleet, platform: str, old: str, new: str, suffix: str, why: str
) -> None:
    findings = _check(fleet, _broken(_store(fleet, platform), old, new, suffix))
    assert _rules(findings) == {GUEST_DNS}
    assert any(why in finding.message for finding in findings)


def test_fortios_dns_server_on_the_guest_interface(fleet: Fleet) -> None:
    config = _store(fleet, "fortinet")
    guest_if = next(
        s for s in config.text.split("config system dhcp server")[1].split("next") if "9.9.9.9" in s
    )
    ifname = guest_if.split("set interface ")[1].split()[0]
    broken = _broken(
        config, "config system dns-server\n", f"config system dns-server\n    edit {ifname}\n    next\n"
    )
    assert any("answers guest Wi-Fi" in f.message for f in _check(fleet, broken))


# ---------------------------------------------------------------- NTP authentication


# The sample chain's keys (fleet.yaml): 1 aes128-cmac (IOS-XE, chrony), 2 hmac-sha256 (IOS-XE,
# VRP), 3 sha256 keyed digest (FortiOS, chrony). A key spelled with another algorithm than the
# servers verify it with never authenticates a packet.
@pytest.mark.parametrize(
    ("platform", "old", "new", "why"),
    [
        ("cisco_xe", "ntp authenticate\n", "", "not enabled"),
        ("cisco_xe", "ntp server 10.0.1.10 key 1", "ntp server 10.0.1.10", "without authentication"),
        (
            "cisco_xe",
            "ntp authentication-key 1 cmac-aes-128",
            "ntp authentication-key 1 md5",
            "NTP key 1 uses md5, but the NTP servers verify it with aes128-cmac",
        ),
        (
            "cisco_xe",
            "ntp authentication-key 1 cmac-aes-128",
            "ntp authentication-key 1 hmac-sha2-256",
            "NTP key 1 uses hmac-sha256, but the NTP servers verify it with aes128-cmac",
        ),
        ("cisco_xe", "ntp server 10.0.1.11 key 1", "ntp server 10.0.1.11 key 2", "asked with key 2, not 1"),
        ("cisco_xe", "ntp trusted-key 1\n", "", "not trusted"),
        ("cisco_xe", "ntp trusted-key 2\n", "ntp trusted-key 2\nntp trusted-key 9\n", "no key of the intent"),
        (
            "cisco_xe",
            "ntp trusted-key 2\n",
            "ntp trusted-key 2\nntp trusted-key 3\n",
            "NTP key 3 is trusted but its algorithm sha256 is not one cisco_xe implements",
        ),
        ("huawei_vrp", "ntp-service authentication enable\n", "", "not enabled"),
        (
            "huawei_vrp",
            "ntp-service unicast-server 10.0.1.11 authentication-keyid 2",
            "ntp-service unicast-server 10.0.1.11",
            "without authentication",
        ),
        (
            "huawei_vrp",
            "authentication-mode hmac-sha256",
            "authentication-mode md5",
            "NTP key 2 uses md5, but the NTP servers verify it with hmac-sha256",
        ),
        (
            "huawei_vrp",
            "ntp-service reliable authentication-keyid 2\n",
            "ntp-service reliable authentication-keyid 2\nntp-service reliable authentication-keyid 1\n",
            "NTP key 1 is trusted but its algorithm aes128-cmac is not one huawei_vrp implements",
        ),
        ("fortinet", "set authentication enable", "set authentication disable", "without authentication"),
        ("fortinet", "set key-id 3", "set key-id 7", "asked with key 7"),
        (
            "fortinet",
            "set key-type SHA256",
            "set key-type SHA1",
            "NTP key 3 uses SHA1, but the NTP servers verify it with sha256",
        ),
        (
            "fortinet",
            "set key-id 3",
            "set key-id 2",
            "NTP key 2 uses sha256, but the NTP servers verify it with hmac-sha256",
        ),
    ],
)
def test_unauthenticated_or_weak_ntp(fleet: Fleet, platform: str, old: str, new: str, why: str) -> None:
    for config in (_store(fleet, platform), _hub(fleet, platform)):
        findings = _check(fleet, _broken(config, old, new))
        assert NTP_AUTH in _rules(findings) and GUEST_DNS not in _rules(findings)
        assert any(why in finding.message for finding in findings), findings


# FRR hosts: chrony.conf and the key file it names (findings point at the file that is wrong).
@pytest.mark.parametrize(
    ("suffix", "old", "new", "why"),
    [
        ("chrony.conf", "authselectmode require\n", "", "not enabled"),
        ("chrony.conf", "server 10.0.1.10 key 1 iburst", "server 10.0.1.10 iburst", "without authentication"),
        ("chrony.conf", "server 10.0.1.11 key 1 iburst", "server 10.0.1.11 key 7 iburst", "asked with key 7"),
        ("chrony.conf", "server 10.0.1.11 key 1 iburst", "server 10.0.1.11 key 3 iburst", "asked with key 3, not 1"),
        ("chrony.conf", "server 10.0.1.11 key 1 iburst version 4\n", "pool 2.debian.pool.ntp.org iburst\n", "pool"),
        ("chrony.conf", "keyfile /etc/chrony/chrony.keys\n", "", "NTP key 1 of the intent is not defined"),
        ("chrony.keys", "1 AES128 HEX:", "# 1 AES128 HEX:", "NTP key 1 of the intent is not defined"),
        ("chrony.keys", "1 AES128 HEX:", "1 MD5 HEX:", "NTP key 1 uses MD5, but the NTP servers verify it with aes128-cmac"),
        # chrony's SHA256 is the keyed digest, not the servers' HMAC-SHA256 of key 2
        ("chrony.keys", "3 SHA256 HEX:", "2 SHA256 HEX:", "NTP key 2 uses sha256, but the NTP servers verify it with hmac-sha256"),
    ],
)
def test_unauthenticated_or_weak_ntp_on_frr_hosts(fleet: Fleet, suffix: str, old: str, new: str, why: str) -> None:
    for config in (_store(fleet, "frr"), _hub(fleet, "frr")):
        findings = _check(fleet, _broken(config, old, new, suffix))
        ntp = [finding for finding in findings if finding.rule == NTP_AUTH]
        assert ntp and GUEST_DNS not in _rules(findings)
        assert any(why in finding.message for finding in ntp), findings
        # "pool": the pool is unauthenticated and 10.0.1.11, gone with it, is missing
        if why == "pool":
            assert any("10.0.1.11 of the intent is not configured" in f.message for f in ntp), ntp
        wrong_file = "chrony.keys" if why.startswith("NTP key") else "chrony.conf"
        assert {f.file for f in ntp if why in f.message} == {f"{config.hostname}.{wrong_file}"}


# IOS-XE stores and hubs: the router peers with the intent's NTP servers only and serves nobody.
@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("ntp access-group peer NTP-SERVERS\n", "", "no `ntp access-group peer`"),
        (" 30 deny any\nip access-list standard NTP-NOBODY", " 30 permit any\nip access-list standard NTP-NOBODY", "admits any"),
        (" 20 permit 10.0.1.11\n", "", "refuses NTP server 10.0.1.11"),
        ("ip access-list standard NTP-NOBODY\n 10 deny any", "ip access-list standard NTP-NOBODY\n 10 permit any", "serves nobody"),
        ("ntp access-group serve-only NTP-NOBODY", "ntp access-group serve-only NTP-SERVERS", "grants 10.0.1.10, 10.0.1.11"),
        ("ntp access-group peer NTP-SERVERS", "ntp access-group peer NTP-ELSEWHERE", "names no standard ACL"),
    ],
)
def test_ios_ntp_serves_nobody_and_peers_only_with_its_servers(fleet: Fleet, old: str, new: str, why: str) -> None:
    for config in (_store(fleet, "cisco_xe"), _hub(fleet, "cisco_xe")):
        assert not [f for f in _check(fleet, config) if f.rule == NTP_AUTH]
        findings = [f for f in _check(fleet, _broken(config, old, new)) if f.rule == NTP_AUTH]
        assert any(why in finding.message for finding in findings), findings


# The secret of the key each platform asks its servers with (tests/testsupport TEST_SECRETS).
_ASKED_WITH = {
    "cisco_xe": "STORESTACK_NTP_KEY",
    "huawei_vrp": "STORESTACK_NTP_KEY_HMAC",
    "fortinet": "STORESTACK_NTP_KEY_SHA256",
}


@pytest.mark.usefixtures("device_secrets")
def test_ntp_key_reaches_only_push_files_and_is_redacted_in_diffs(fleet: Fleet) -> None:
    """The key is filled in a push render only, and a diff of a device's running config (which
    shows the key) never prints it, on every platform, even without knowing the value."""
    for platform in VENDORS:
        key = TEST_SECRETS[_ASKED_WITH[platform]]
        chain = on_platform(fleet, platform)
        (shown,) = render_store(chain, GUEST_STORE)
        (pushed,) = render_store(chain, GUEST_STORE, reveal_secrets=True)
        assert key not in shown.text
        key_lines = [line for line in pushed.text.splitlines() if key in line]
        assert key_lines, f"{platform}: no line carries the NTP key"
        assert all("ntp" in line or line.strip().startswith("set key ") for line in key_lines)
        assert key not in "\n".join(redactor_for(platform).redact_lines(key_lines))


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("STORESTACK_NTP_KEY", "k" * 15, "16-128 characters"),  # below every key's floor
        ("STORESTACK_NTP_KEY", "k" * 17, "exactly 16 characters"),  # AES-128: a 128-bit key
        ("STORESTACK_NTP_KEY_HMAC", "k" * 33, "16-32 characters"),  # IOS-XE hmac-sha2-256: 1-32 bytes
        ("STORESTACK_NTP_KEY_SHA256", "k" * 33, "16-32 characters"),
        ("STORESTACK_NTP_KEY_HMAC", "k" * 12, "16-128 characters"),
        ("STORESTACK_NTP_KEY_SHA256", "k" * 12, "16-128 characters"),
    ],
)
def test_ntp_key_of_a_length_its_algorithm_refuses(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, rule: str
) -> None:
    monkeypatch.setenv(variable, value)
    keys = {key.secret.source: key for key in NetworkIntent(fleet, reveal_secrets=True).management.ntp_keys}
    with pytest.raises(SecretUnavailableError, match=rule):
        keys[f"env:{variable}"].secret.reveal()


# ---------------------------------------------------------------- QoS classes


def test_one_class_model_on_every_platform(fleet: Fleet) -> None:
    """The intent's classes, spelled per platform: voice EF strict priority 10 %, POS AF31 20 %,
    office voice picked out by its ports and marked EF, guest Wi-Fi best effort."""
    cisco = _store(fleet, "cisco_xe").text
    assert " class QOS-VOICE\n  priority percent 10\n class QOS-POS\n  bandwidth percent 20\n" in cisco
    assert "policy-map MARK-OFFICE\n class QOS-OFFICE-VOICE\n  set dscp ef\n class class-default\n  set dscp af21\n" in cisco
    assert "policy-map MARK-GUEST\n class class-default\n  set dscp default\n" in cisco
    vrp = _store(fleet, "huawei_vrp").text
    # in kbit/s, shares of each link's shaped rate (wan1: 950000 kbit/s), never `pct`
    assert "traffic behavior QOS-VOICE-wan1\n queue ef bandwidth 95000\n" in vrp
    assert "traffic behavior QOS-POS-wan1\n queue af bandwidth 190000\n" in vrp
    assert " bandwidth pct " not in vrp
    # Office voice is picked out by its ports and marked EF before the rest of the segment.
    office = vrp[vrp.index("traffic policy LAN-IN-OFFICE\n") :].split("\ntraffic policy", 1)[0]
    assert office.startswith("traffic policy LAN-IN-OFFICE\n classifier QOS-OFFICE-VOICE behavior MARK-VOICE\n")
    assert "traffic behavior MARK-VOICE\n remark dscp ef\n" in vrp
    assert office.endswith(" classifier ANY behavior MARK-BUSINESS")
    forti = _store(fleet, "fortinet").text
    # strict priority: `priority high`, FortiOS's default, which the config leaves out
    assert 'edit "QOS-VOICE"\n        set guaranteed-bandwidth ' in forti
    assert 'set service "QOS-OFFICE-VOICE"\n        set traffic-shaper "QOS-VOICE"' in forti
    nft = _store(fleet, "frr").companions["nftables.conf"]
    assert 'udp dport { 5060, 16384-32767 } meta mark set 0x00005101 ip dscp set ef accept comment "voice"' in nft


def _wan_parents(config: ConfigFile) -> dict[str, int]:
    """Each WAN link's parent shaper in kbit/s, read off the rendered config as the device would."""
    text = config.text
    if config.platform == "cisco_xe":  # the interface's output policy SHAPE-<link>, in bit/s
        found = re.findall(r"policy-map SHAPE-(\S+)\n class class-default\n  shape average (\d+)\n", text)
        return {link: int(bits) // 1000 for link, bits in found}
    if config.platform == "huawei_vrp":
        found = re.findall(r"\ninterface \S+\n description (\S+) [^\n]*\n(?: [^\n]*\n)*? qos gts cir (\d+)\n", text)
    elif config.platform == "fortinet":
        found = re.findall(r'set description "(\S+) [^"]*"\n(?: +set [^\n]*\n)*? +set outbandwidth (\d+)\n', text)
    else:
        found = re.findall(r"class add dev (\S+) parent 1: classid 1:1 htb rate (\d+)kbit", config.companions["qos.tc"])
    return {link: int(kbit) for link, kbit in found}


def _cctv_caps(config: ConfigFile) -> list[int]:
    """The shaped class's (CCTV's) ceilings in kbit/s, as rendered."""
    text = config.text
    if config.platform == "cisco_xe":
        return [int(bits) // 1000 for bits in re.findall(r" class QOS-CCTV\n  shape average (\d+)\n", text)]
    if config.platform == "huawei_vrp":
        return [int(kbit) for kbit in re.findall(r"traffic behavior QOS-CCTV-\S+\n gts cir (\d+)\n", text)]
    if config.platform == "fortinet":
        return [int(kbit) for kbit in re.findall(r'edit "QOS-CCTV"\n(?: +set [^\n]*\n)*? +set maximum-bandwidth (\d+)\n', text)]
    return [int(kbit) for kbit in re.findall(r"htb rate \d+kbit ceil (\d+)kbit .*# cctv\n", config.companions["qos.tc"])]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_platform_queues_under_the_intents_shaped_rate(fleet: Fleet, platform: str) -> None:
    """One rate per WAN link, in the intent (95% of the link's rate), is every platform's parent
    shaper, so the queue builds in the router, not in the modem; the CCTV cap (shape_percent 20)
    is its share of that rate (FortiOS: of the smallest link's, its shared shapers span every port)."""
    config = _store(fleet, platform)
    store = NetworkIntent(on_platform(fleet, platform)).store(GUEST_STORE, config.hostname)
    shaped = {transport.name: transport.queue_kbps for transport in store.transports}
    assert shaped == {"wan1": 950000, "wan2": 380000, "lte1": 285000}
    assert _wan_parents(config) == shaped
    caps = [shaped[name] * 20 // 100 for name in ("wan1", "wan2", "lte1")]
    assert _cctv_caps(config) == ([min(caps)] if platform == "fortinet" else caps)


@pytest.mark.parametrize(
    ("platform", "old", "new", "suffix", "why"),
    [
        (
            "cisco_xe",
            "policy-map MARK-GUEST\n class class-default\n  set dscp default",
            "policy-map MARK-GUEST\n class class-default\n  set dscp ef",
            "",
            "marks guest-wifi traffic ef",
        ),
        ("cisco_xe", " service-policy input MARK-GUEST\n", "", "", "guest-wifi traffic is not re-marked"),
        ("cisco_xe", "  priority percent 10", "  bandwidth percent 10", "", "not a strict-priority queue"),
        ("cisco_xe", "  bandwidth percent 20", "  bandwidth percent 40", "", "given 40%"),
        # each WAN port's parent shaper (SHAPE-<link>), at most the intent's shaped rate of its link
        ("cisco_xe", " service-policy output SHAPE-wan1\n", "", "",
         "the wan1 link (GigabitEthernet0/0/0) has no shaper (an output policy with shape average)"),
        ("cisco_xe", "  shape average 950000000\n", "  shape average 1000000000\n", "",
         "the wan1 link (GigabitEthernet0/0/0) is shaped to 1000000 kbit/s, above the intent's 950000 kbit/s "
         "(95% of the link's 1000000 kbit/s): the modem queues"),
        ("huawei_vrp", " classifier ANY behavior MARK-BEST-EFFORT", " classifier ANY behavior MARK-VOICE", "",
         "marks guest-wifi traffic ef"),
        ("huawei_vrp", " traffic-policy LAN-IN-POS inbound\n", "", "", "pos traffic is not re-marked"),
        ("huawei_vrp", " queue af bandwidth 190000", " queue ef bandwidth 190000", "", "a strict-priority queue"),
        # guarantees in kbit/s, each its class's share of the link's shaped rate (qos gts cir)
        ("huawei_vrp", " queue ef bandwidth 95000", " queue ef bandwidth pct 10", "",
         "QoS class VOICE on the wan1 link is given a pct, which an AR counts from the port's rate, not from qos gts cir: "
         "the intent's 95000 kbit/s is 10% of the link's shaped rate (950000 kbit/s, qos gts cir)"),
        ("huawei_vrp", " queue ef bandwidth 38000", " queue ef bandwidth 40000", "",
         "QoS class VOICE on the wan2 link is given 40000 kbit/s: the intent's 38000 kbit/s is 10% of the link's shaped "
         "rate (380000 kbit/s"),
        # the routers' own network control's 19000 kbit/s (2%) counts with the classes'
        ("huawei_vrp", " queue af bandwidth 190000", " queue af bandwidth 700000", "",
         "the wan1 link's guarantees add up to 1146500 kbit/s, above its shaped rate (950000 kbit/s, qos gts cir)"),
        # each WAN port's `qos gts cir`, at most the intent's shaped rate of its link
        ("huawei_vrp", " qos gts cir 950000\n", "", "",
         "the wan1 link (GigabitEthernet0/0/1) has no shaper (qos gts cir)"),
        ("huawei_vrp", " qos gts cir 380000\n", " qos gts cir 400000\n", "",
         "the wan2 link (GigabitEthernet0/0/2) is shaped to 400000 kbit/s, above the intent's 380000 kbit/s "
         "(95% of the link's 400000 kbit/s): the modem queues"),
        ("fortinet", 'set traffic-shaper "QOS-BEST-EFFORT"', 'set traffic-shaper "QOS-VOICE"', "",
         "marks guest-wifi traffic ef"),
        ("fortinet", "set diffservcode 011010", "set diffservcode 101110", "", "matches ef"),
        ("fortinet", "        set guaranteed-bandwidth 28500\n        set maximum-bandwidth 28500\n",
         "        set guaranteed-bandwidth 28500\n", "", "QoS class VOICE has priority high but no maximum-bandwidth"),
        ("fortinet", "set guaranteed-bandwidth 28500\n        set maximum-bandwidth 28500",
         "set guaranteed-bandwidth 28500\n        set maximum-bandwidth 285000", "",
         "QoS class VOICE has priority high but no maximum-bandwidth"),
        # the WAN ports, the FortiOS queues' parent: without outbandwidth the modem queues
        ("fortinet", "        set outbandwidth 950000\n", "", "", "(wan1) has no outbandwidth"),
        ("fortinet", "set outbandwidth 950000", "set outbandwidth 0", "", "(wan1) has no outbandwidth"),
        ("fortinet", "set outbandwidth 950000", "set outbandwidth 1900000", "",
         "(wan1) is shaped to 1900000 kbit/s, above the intent's 950000 kbit/s (95% of the link's 1000000 kbit/s)"),
        # at the link's own rate the modem, not the router, is where the queue builds
        ("fortinet", "set outbandwidth 950000", "set outbandwidth 1000000", "",
         "(wan1) is shaped to 1000000 kbit/s, above the intent's 950000 kbit/s"),
        ("frr", "ip dscp set cs0\n", "ip dscp set ef\n", "nftables.conf", "marks guest-wifi traffic ef"),
        # the WAN queues of the FRR host (qos.tc)
        ("frr", "match ip dsfield 0x68 0xfc flowid 1:11", "match ip dsfield 0x48 0xfc flowid 1:11", "qos.tc",
         "QoS class POS matches af21"),
        ("frr", "cburst 23750 prio 0 quantum 60000  # voice", "cburst 23750 prio 1 quantum 60000  # voice", "qos.tc",
         "QoS class VOICE is not a strict-priority queue"),
        ("frr", "classid 1:11 htb rate 190000kbit", "classid 1:11 htb rate 95000kbit", "qos.tc",
         "QoS class POS is given 10%, the intent's class 20%"),
        ("frr", "classid 1:1 htb rate 950000kbit ceil 950000kbit", "classid 1:1 htb rate 1900000kbit ceil 1900000kbit",
         "qos.tc", "wan1 is shaped to 1900000 kbit/s, above the intent's 950000 kbit/s (95% of the link's 1000000 kbit/s)"),
        ("frr", "classid 1:1 htb rate 950000kbit ceil 950000kbit", "classid 1:1 htb rate 1000000kbit ceil 1000000kbit",
         "qos.tc", "wan1 is shaped to 1000000 kbit/s, above the intent's 950000 kbit/s"),
        ("frr", "qdisc replace dev wan1 root handle 1: htb default 15\n", "", "qos.tc", "wan1 has no shaper"),
        ("frr", "class add dev wan1 parent 1:1 classid 1:11 htb rate 190000kbit", "# ", "qos.tc",
         "QoS class POS of the intent has no queue on wan1"),
        ("frr", "match ip dsfield 0x68 0xfc flowid 1:11", "match ip dsfield 0x68 0xfc flowid 1:15", "qos.tc",
         "QoS class POS matches none"),
    ],
)
def test_qos_defects_caught(fleet: Fleet, platform: str, old: str, new: str, suffix: str, why: str) -> None:
    findings = _check(fleet, _broken(_store(fleet, platform), old, new, suffix))
    assert _rules(findings) == {"qos"}, findings
    assert any(why in finding.message for finding in findings), findings


# hq-hub1's queues towards the stores (qos.tc on its DC core LAN port `dc`, the sample chain's
# uplink_mbps: 1000): the classes, the rate, and only the tunnels' packets (from 203.0.113.11).
@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("root handle 1: htb default 0", "root handle 1: htb default 15",
         "unclassified traffic goes to class 1:15, so the DC core LAN's own traffic is held to the uplink's rate"),
        ("u32 match ip src 203.0.113.11/32 match ip dsfield 0x68", "u32 match ip dsfield 0x68",
         "a filter takes packets from any source, not only the tunnels' (from 203.0.113.11/32)"),
        ("u32 match ip src 203.0.113.11/32 match ip dsfield 0xb8", "u32 match ip src 10.0.0.0/8 match ip dsfield 0xb8",
         "a filter takes packets from 10.0.0.0/8"),
        ("filter add dev dc parent 1: protocol ip prio 3 u32 match ip src 203.0.113.11/32 flowid 1:15  # best-effort\n",
         "", "no filter gives the tunnels' other packets best effort: they bypass the shaper"),
        ("classid 1:1 htb rate 950000kbit ceil 950000kbit", "classid 1:1 htb rate 1900000kbit ceil 1900000kbit",
         "the uplink (dc) is shaped to 1900000 kbit/s, above the intent's 950000 kbit/s (95% of the link's 1000000 kbit/s)"),
        # at the uplink's own rate the DC's internet edge, not the hub, is where the queue builds
        ("classid 1:1 htb rate 950000kbit ceil 950000kbit", "classid 1:1 htb rate 1000000kbit ceil 1000000kbit",
         "the uplink (dc) is shaped to 1000000 kbit/s, above the intent's 950000 kbit/s (95% of the link's "
         "1000000 kbit/s): the DC's internet edge queues"),
        ("qdisc replace dev dc root handle 1: htb default 0\n", "", "the uplink (dc) has no shaper"),
        ("cburst 23750 prio 0 quantum 60000  # voice", "cburst 23750 prio 1 quantum 60000  # voice",
         "QoS class VOICE is not a strict-priority queue"),
        ("match ip dsfield 0x68 0xfc flowid 1:11", "match ip dsfield 0x48 0xfc flowid 1:11", "QoS class POS matches af21"),
        ("classid 1:11 htb rate 190000kbit", "classid 1:11 htb rate 95000kbit", "QoS class POS is given 10%"),
        ("class add dev dc parent 1:1 classid 1:11 htb rate 190000kbit", "# ", "QoS class POS of the intent has no queue"),
    ],
)
def test_hub_qos_defects_caught(fleet: Fleet, old: str, new: str, why: str) -> None:
    findings = _check(fleet, _broken(_hub(fleet, "frr"), old, new, "qos.tc"))
    assert _rules(findings) == {"qos"}, findings
    assert any(why in finding.message and finding.file == "hq-hub1.qos.tc" for finding in findings), findings


def test_a_hub_shaping_at_a_rate_the_intent_does_not_know_is_caught(fleet: Fleet) -> None:
    shaped = _hub(fleet, "frr")
    unknown = _without_uplink(fleet)
    assert _check(unknown, _hub(unknown, "frr")) == []
    findings = _check(unknown, shaped)
    assert [f.message for f in findings] == ["the hub shapes a link, but the intent gives it no uplink_mbps"]


def _without_uplink(fleet: Fleet) -> Fleet:
    hubs = {name: hub.model_copy(update={"uplink_mbps": None}) for name, hub in fleet.hubs.items()}
    return Fleet(fleet.spec, hubs, {store.id: store for store in fleet}, fleet.root)


# An IOS-XE hub's output policy on its DC core LAN port (uplink_mbps: 1000, shaped to 950 Mbit/s).
@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (" service-policy output SHAPE-UPLINK\n", "", "the uplink (GigabitEthernet0/0/0) has no shaper"),
        ("  shape average 950000000\n", "  shape average 1900000000\n",
         "the uplink (GigabitEthernet0/0/0) is shaped to 1900000 kbit/s, above the intent's 950000 kbit/s "
         "(95% of the link's 1000000 kbit/s)"),
        ("  shape average 950000000\n", "  shape average 1000000000\n",
         "the uplink (GigabitEthernet0/0/0) is shaped to 1000000 kbit/s, above the intent's 950000 kbit/s "
         "(95% of the link's 1000000 kbit/s): the DC's internet edge queues"),
        ("  priority percent 10\n", "  bandwidth percent 10\n", "QoS class VOICE is not a strict-priority queue"),
        (" class QOS-POS\n  bandwidth percent 20\n", "", "QoS class POS of the intent has no queue"),
        ("  bandwidth percent 20\n", "  bandwidth percent 10\n", "QoS class POS is given 10%"),
    ],
)
def test_ios_hub_qos_defects_caught(fleet: Fleet, old: str, new: str, why: str) -> None:
    hub = _hub(fleet, "cisco_xe")
    start = hub.text.index("policy-map QUEUE-UPLINK")  # the hub's own queues, not a class-map
    broken = dataclasses.replace(hub, text=hub.text[:start] + hub.text[start:].replace(old, new, 1))
    assert old in hub.text[start:]
    findings = _check(fleet, broken)
    assert _rules(findings) == {"qos"}, findings
    assert any(why in finding.message for finding in findings), findings


def test_ios_hub_queues_only_with_an_uplink_rate(fleet: Fleet) -> None:
    shaped = _hub(fleet, "cisco_xe")
    unknown = _without_uplink(fleet)
    plain = _hub(unknown, "cisco_xe")
    assert "SHAPE-UPLINK" not in plain.text and "policy-map QUEUE-" not in plain.text
    assert _check(unknown, plain) == []
    findings = _check(unknown, shaped)
    assert [f.message for f in findings] == [
        "the hub shapes the uplink (GigabitEthernet0/0/0), but the intent gives it no uplink_mbps"
    ]


# A VRP hub cannot shape its tunnels' packets apart from the DC core LAN's own traffic
# (HUB_NO_UPLINK_QUEUES; the inventory refuses its uplink_mbps): it renders no shaper on that
# port, and one there (the stores' `qos gts cir`, or an outbound policy that shapes or queues) is
# caught.
def test_vrp_hub_shapes_nothing_on_its_dc_port(fleet: Fleet) -> None:
    chain = on_platform(fleet, "huawei_vrp")
    assert chain.hubs["hq-hub1"].uplink_mbps is None
    hub = _hub(chain, "huawei_vrp")
    assert "qos gts" not in hub.text and " outbound\n" not in hub.text
    assert _check(chain, hub) == []
    port = " traffic-filter inbound acl name HUB-WAN-IN\n"
    gts = _broken(hub, port, port + " qos gts cir 950000\n")
    findings = _check(chain, gts)
    assert [f.rule for f in findings] == ["qos"], findings
    assert findings[0].message.startswith(
        "the hub shapes the port (qos gts cir 950000) on the uplink (GigabitEthernet0/0/1), which holds the DC core "
        "LAN's own traffic to it too: a Huawei VRP hub cannot shape"
    )
    assert gts.lines[findings[0].line - 1] == " qos gts cir 950000"
    queued = _broken(
        hub,
        "ike proposal 10\n",
        "traffic classifier HUB-TUNNELS operator or\n if-match acl 3096\n#\ntraffic behavior HUB-TUNNELS\n"
        " gts cir 950000\n#\ntraffic policy SHAPE-UPLINK\n classifier HUB-TUNNELS behavior HUB-TUNNELS\n#\n"
        "ike proposal 10\n",
    )
    queued = _broken(queued, port, port + " traffic-policy SHAPE-UPLINK outbound\n")
    assert [f.message.split(", which")[0] for f in _check(chain, queued)] == [
        "the hub queues or shapes with traffic-policy SHAPE-UPLINK outbound on the uplink (GigabitEthernet0/0/1)"
    ]


# FortiOS likewise (HUB_NO_UPLINK_QUEUES): an `outbandwidth` or an egress shaping profile on the
# DC core LAN port would hold the decrypted store traffic to HQ to the rate as well.
@pytest.mark.parametrize(
    ("setting", "what"),
    [
        ("set outbandwidth 950000", "shapes the port (set outbandwidth 950000)"),
        ("set egress-shaping-profile \"UPLINK\"", "queues with set egress-shaping-profile \"UPLINK\""),
    ],
)
def test_fortios_hub_shapes_nothing_on_its_dc_port(fleet: Fleet, setting: str, what: str) -> None:
    chain = on_platform(fleet, "fortinet")
    assert chain.hubs["hq-hub1"].uplink_mbps is None
    hub = _hub(chain, "fortinet")
    assert "outbandwidth" not in hub.text and "egress-shaping-profile" not in hub.text
    assert _check(chain, hub) == []
    port = '        set description "dc core lan"\n'
    shaped = _broken(hub, port, port + f"        {setting}\n")
    findings = _check(chain, shaped)
    assert [f.rule for f in findings] == ["qos"], findings
    assert findings[0].message.startswith(
        f"the hub {what} on the uplink (port1), which holds the DC core LAN's own traffic to it too: "
        "a FortiOS hub cannot shape"
    )
    assert shaped.lines[findings[0].line - 1] == '    edit "port1"'


# ---------------------------------------------------------------- the hubs' DC-port trust boundary

# hq-hub1 queues towards the stores (uplink_mbps: 1000), so what it forwards from the DC core LAN
# with a network-control DSCP (CS6, CS7: the control class that keeps BGP, BFD and IKE to the
# stores alive) must leave with default; the fleet's classes' DSCPs are kept.
_CS6 = 'iifname "dc" ip dscp cs6 ip dscp set cs0\n'
_CS7 = 'iifname "dc" ip dscp cs7 ip dscp set cs0\n'


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (_CS6 + "        " + _CS7, "", "the hub trusts cs6 from the DC core LAN (dc): a DC host's packets marked cs6 keep it"),
        ("        " + _CS7, "", "the hub trusts cs7 from the DC core LAN (dc)"),
        # on another port the DC's packets pass untouched
        (_CS6, _CS6.replace('"dc"', '"lo"'), "the hub trusts cs6 from the DC core LAN"),
        (_CS6, _CS6.replace("set cs0", "set ef"), "the hub re-marks cs6 from the DC core LAN (dc) to ef, not to default"),
        # the input hook never sees what the hub forwards
        ("type filter hook forward priority mangle; policy accept;\n        " + _CS6,
         "type filter hook input priority mangle; policy accept;\n        " + _CS6,
         "the hub trusts cs6 from the DC core LAN (dc)"),
        (_CS7, _CS7 + '        iifname "dc" ip dscp ef ip dscp set cs0\n',
         "the hub re-marks ef from the DC core LAN (dc) to default: ef is a class of the fleet"),
        # a set of DSCPs is read as well (the renderer writes one rule per DSCP)
        (_CS6 + "        " + _CS7, 'iifname "dc" ip dscp { cs6, ef } ip dscp set cs0\n',
         "the hub trusts cs7 from the DC core LAN (dc)"),
    ],
)
def test_frr_hub_dc_trust_defects_caught(fleet: Fleet, old: str, new: str, why: str) -> None:
    hub = _hub(fleet, "frr")
    assert _check(fleet, hub) == []
    findings = _check(fleet, _broken(hub, old, new, "nftables.conf"))
    assert _rules(findings) == {"qos"}, findings
    assert any(why in f.message and f.file == "hq-hub1.nftables.conf" for f in findings), findings


_DC_CLASS = "class-map match-all DC-NETWORK-CONTROL\n match access-group name DC-TRANSIT\n"


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (" service-policy input DC-TRUST\n", "", "the hub trusts cs6 from the DC core LAN (GigabitEthernet0/0/0)"),
        # the trust class's DSCPs (the queues' NETWORK-CONTROL class matches the same ones)
        (_DC_CLASS + " match dscp cs6 cs7\n", _DC_CLASS + " match dscp cs6\n",
         "the hub trusts cs7 from the DC core LAN (GigabitEthernet0/0/0)"),
        ("  set dscp default\n", "  set dscp cs5\n",
         "the hub re-marks cs6 from the DC core LAN (GigabitEthernet0/0/0) to cs5, not to default"),
        (_DC_CLASS + " match dscp cs6 cs7\n", _DC_CLASS + " match dscp cs6 cs7 ef\n",
         "the hub re-marks ef from the DC core LAN (GigabitEthernet0/0/0) to default: ef is a class of the fleet"),
        # class-default: every DSCP, the fleet's classes' too
        (" class DC-NETWORK-CONTROL\n  set dscp default\n", " class class-default\n  set dscp default\n",
         "the hub re-marks every DSCP from the DC core LAN (GigabitEthernet0/0/0) to default"),
    ],
)
def test_ios_hub_dc_trust_defects_caught(fleet: Fleet, old: str, new: str, why: str) -> None:
    hub = _hub(fleet, "cisco_xe")
    assert _check(fleet, hub) == []
    findings = _check(fleet, _broken(hub, old, new))
    assert _rules(findings) == {"qos"}, findings
    assert any(why in f.message for f in findings), findings
    if new == "":
        port = hub.lines.index("interface GigabitEthernet0/0/0") + 1
        assert [f.line for f in findings if why in f.message] == [port]


def test_a_hub_that_queues_nothing_towards_the_stores_needs_no_dc_trust(fleet: Fleet) -> None:
    """Without uplink_mbps (or on VRP and FortiOS, HUB_NO_UPLINK_QUEUES) no queue of the hub reads
    the DSCP: the intent has no trust boundary there, nothing renders one, and its absence is no
    finding."""
    unknown = _without_uplink(fleet)
    for platform in ("frr", "cisco_xe"):
        hub = _hub(unknown, platform)
        assert NetworkIntent(on_platform(unknown, platform)).hub("hq-hub1").dc_trust is None
        assert "DC-TRUST" not in hub.text and "dc_trust" not in hub.companions.get("nftables.conf", "")
        assert _check(unknown, hub) == []
    for platform in ("huawei_vrp", "fortinet"):
        chain = on_platform(fleet, platform)
        assert NetworkIntent(chain).hub("hq-hub1").dc_trust is None
        assert "cs6" not in _hub(chain, platform).text.lower()


# Each platform's guest scope as rendered, and the same scope left at the platform's default.
_GUEST_LEASES = {
    "cisco_xe": ("", " lease 0 1\n", "", "86400 s (the platform's default)"),
    "huawei_vrp": ("", " dhcp server lease day 0 hour 1 minute 0\n", "", "86400 s (the platform's default)"),
    "fortinet": ("", "        set lease-time 3600\n", "", "604800 s (the platform's default)"),
    "frr": ("dnsmasq.conf", "255.255.255.128,3600\n", "255.255.255.128,12h\n", "43200 s"),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_guest_wifi_leases_for_the_intents_hour_on_every_platform(fleet: Fleet, platform: str) -> None:
    """A store's guest scope (a /25 less its reserved addresses) leases for the intent's hour:
    at a platform's default (a day, a week) or dnsmasq's 12 h of the other segments, a day's
    passers-by exhaust it. Only guest Wi-Fi's scope is shortened."""
    config = _store(fleet, platform)
    suffix, rendered, longer, why = _GUEST_LEASES[platform]
    text = config.companions[suffix] if suffix else config.text
    assert text.count(rendered) == 1
    assert GUEST_LEASE not in _rules(_check(fleet, config))
    (finding,) = [f for f in _check(fleet, _broken(config, rendered, longer, suffix)) if f.rule == GUEST_LEASE]
    assert finding.message.startswith(f"guest Wi-Fi's DHCP leases for {why}; the intent says 3600 s")
