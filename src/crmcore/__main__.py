"""``python -m crmcore``: the same as the ``crmcore`` command."""

from __future__ import annotations

import sys

from crmcore.cli import main

if __name__ == "__main__":
    sys.exit(main())
