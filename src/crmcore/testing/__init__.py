"""Test helpers for code that embeds crmcore: fixtures, factories, strategies, assertions.

* The pytest plugin (:mod:`crmcore.testing.plugin`, registered when crmcore is
  installed) gives the fixtures ``crm_store``, ``sample_company``,
  ``crm_factory`` and ``crm_store_maker``, and the ``--crm-store`` option.
* :class:`Factory` builds valid entities with sequential ids.
* :mod:`crmcore.testing.strategies` has hypothesis strategies for every
  entity, value, purchase log and workflow (needs ``crmcore[testing]``).
* :func:`assert_no_leak`, :func:`assert_frame_schema` and
  :func:`assert_recovers_parameters` check analytics code.

Nothing here is imported by ``import crmcore``. See the guide "Testing with
crmcore" (docs/testing.rst).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcore.testing._assertions import (
        LEAK_CHECKS,
        assert_frame_schema,
        assert_no_leak,
        assert_recovers_parameters,
    )
    from crmcore.testing._factories import Factory, copy_company
    from crmcore.testing._stores import StoreMaker, store_kind

# loaded on first use, so that the pytest plugin (a submodule) stays light
_WHERE = {
    "LEAK_CHECKS": "_assertions",
    "assert_frame_schema": "_assertions",
    "assert_no_leak": "_assertions",
    "assert_recovers_parameters": "_assertions",
    "Factory": "_factories",
    "copy_company": "_factories",
    "StoreMaker": "_stores",
    "store_kind": "_stores",
}

__all__ = [
    "LEAK_CHECKS",
    "Factory",
    "StoreMaker",
    "assert_frame_schema",
    "assert_no_leak",
    "assert_recovers_parameters",
    "copy_company",
    "store_kind",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"crmcore.testing.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
