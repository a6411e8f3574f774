"""An IOS-XE appliance's VTY lines name no login method list: with `aaa new-model` they use the
default list by themselves ("when 'aaa new-model' is configured, there is no configuration under
'line vty x' because now the default login method is AAA", Cisco document 200173, "Verify AAA
behaviour when login local"). A rendered `login authentication default`, which the router may
leave out of its running config, would come back as a change on every push and drift check."""

from __future__ import annotations

from pathlib import Path

import pytest

from storestack.devices.lint.linetree import parse, top

GOLDEN = Path(__file__).parent / "golden" / "cisco_xe"


@pytest.mark.parametrize("name", sorted(path.name for path in GOLDEN.glob("*.cfg")))
def test_vty_lines_rely_on_the_default_login_list_and_stay_restricted(name: str) -> None:
    text = (GOLDEN / name).read_text()
    tree = parse(text, ("!",))
    assert list(top(tree, "aaa", "new-model")), name
    assert any(line.startswith("aaa authentication login default ") for line in text.splitlines()), name
    blocks = list(top(tree, "line", "vty"))
    assert [block.text for block in blocks] == ["line vty 0 4", "line vty 5 20"]
    for block in blocks:
        children = block.child_texts()
        assert not any(child.startswith("login authentication") for child in children), (name, block.text)
        # A hub takes SSH on its management port too, in VRF Mgmt-intf (`vrf-also`).
        access = "access-class MGMT-HQ in vrf-also" if name == "hub.cfg" else "access-class MGMT-HQ in"
        assert access in children and "transport input ssh" in children, (name, block.text)
