"""``python -m maildesk`` is the same as the ``maildesk`` command."""

import sys

from maildesk.cli import main

sys.exit(main())
