"""What the provider SDKs say about a resource type token (e.g. whether it takes tags).

The answer comes from the installed SDK class itself, so a provider upgrade that adds tags to a
type is picked up without a list to maintain.
"""

from __future__ import annotations

import functools
import importlib
import inspect

_PACKAGES = {"aws": "pulumi_aws", "openstack": "pulumi_openstack", "random": "pulumi_random"}


@functools.cache
def resource_class(type_token: str) -> type | None:
    """The SDK class for `package:module/name:Class`, or None for types storestack does not know."""
    try:
        package, module_path, class_name = type_token.split(":")
    except ValueError:
        return None
    root = _PACKAGES.get(package)
    if root is None:
        return None
    module_name = module_path.split("/")[0]
    target = root if module_name == "index" else f"{root}.{module_name}"
    try:
        module = importlib.import_module(target)
    except ImportError:
        return None
    found = getattr(module, class_name, None)
    return found if isinstance(found, type) else None


@functools.cache
def is_taggable(type_token: str) -> bool:
    """True when the resource accepts a `tags` input (a map on AWS, a list on OpenStack)."""
    cls = resource_class(type_token)
    if cls is None:
        return False
    init = getattr(cls, "_internal_init", None)
    if init is None:
        return False
    return "tags" in inspect.signature(init).parameters


@functools.cache
def is_region_aware(type_token: str) -> bool:
    """True when an AWS resource takes the top-level `region` input of pulumi-aws 7 (the Terraform
    AWS Provider 6's Enhanced Region Support), whose change replaces the resource."""
    cls = resource_class(type_token)
    init = getattr(cls, "_internal_init", None) if type_token.startswith("aws:") else None
    return init is not None and "region" in inspect.signature(init).parameters
