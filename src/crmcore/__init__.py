"""crmcore: customer relationship management as an embeddable Python library.

crmcore owns the CRM *domain* (customers, leads, opportunities, tickets,
loyalty) and the analytics on top of it (customer lifetime value, churn,
segmentation, satisfaction), with no server and no user interface of its own.

Subpackages are imported explicitly; each one's ``__init__`` is its public
API:

``crmcore.errors``
    The exception and warning hierarchy.
``crmcore.domain``
    Frozen attrs entities and value objects.
"""

from __future__ import annotations

from crmcore import errors

__version__ = "0.2.0.dev0"

__all__ = ["__version__", "errors"]
