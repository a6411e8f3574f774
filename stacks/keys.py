"""The stacks' tunnel pre-shared keys: the network intent's, derived from the fleet's secret.

Every tunnel that has a device at one end (store to hub, store to AWS, hub to AWS, hub to an
OpenStack gateway) takes its key from `network.build.derive_psk` over the tunnel's intent id,
keyed with the fleet secret `management.secrets.ipsec-psk`. The stack programs derive the same
value as the device renderer, so a live stack and a planned config never disagree on a key and
hub configs need no store stack's outputs to know one. The rendered stack config holds only the
secret's reference (`env:NAME` or `file:/path`), never a value.
"""

from __future__ import annotations

from functools import cached_property

import pulumi
from pydantic import Field

from storestack.common.secretrefs import SecretPolicy, parse_secret_ref, read_secret
from storestack.components.common import FrozenModel
from storestack.network.build import PSK_SECRET, derive_psk
from storestack.network.secrets import secret_value_problem
from storestack.stacks.errors import StackConfigError

# What `storestack plan` derives from when the fleet secret is not in its environment: a plan
# runs offline and renders no device secret. Configs from a plan are marked PLANNED and never
# pushed; `pulumi up` (FleetTunnelKeys(planning=False)) refuses to run without the real secret.
PLAN_STAND_IN = "storestack plan: ipsec-psk not available"


class TunnelKeySource(FrozenModel):
    """Where the fleet secret the tunnel keys derive from is read: a reference and the fleet's rule."""

    reference: str = Field(description=f"management.secrets.{PSK_SECRET}: env:NAME or file:/path")
    env_prefix: str
    file_dirs: list[str] = Field(default_factory=list)


class FleetTunnelKeys:
    """`TunnelKeys` of a stack program: one derived key per tunnel id, each a Pulumi secret.

    With `planning` (offline plans under mocks) a missing secret falls back to `PLAN_STAND_IN`;
    otherwise it is a `StackConfigError` naming the reference."""

    def __init__(self, source: TunnelKeySource, *, planning: bool = False) -> None:
        self.source = source
        self.planning = planning

    @cached_property
    def _secret(self) -> str:
        try:
            ref = parse_secret_ref(self.source.reference)
        except ValueError as exc:
            # The reference is never quoted: a hand-edited stack config may hold the secret itself.
            raise StackConfigError(
                f"tunnel keys: the stack config's {PSK_SECRET} reference is not {exc} (value not shown)"
            ) from None
        value, problem = read_secret(ref, SecretPolicy(self.source.env_prefix, tuple(self.source.file_dirs)))
        if value:
            problem = secret_value_problem(PSK_SECRET, value)
            if problem is None:
                return value
        if self.planning:
            return PLAN_STAND_IN
        raise StackConfigError(
            f"tunnel keys: the fleet secret {PSK_SECRET} ({ref}) {problem or 'is not set'}; "
            "every tunnel's pre-shared key derives from it"
        )

    def psk(self, tunnel_id: str) -> pulumi.Output[str]:
        return pulumi.Output.secret(derive_psk(self._secret, tunnel_id))
