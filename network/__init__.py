"""storestack.network: the network intent, the one source of the store network's design.

Stacks, device templates, rollout, drift and the lab all read the network from here, so the two
ends of every tunnel are computed from the same data.
"""
