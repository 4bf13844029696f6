"""``python -m workers.cli``: the same as the ``enrich`` command."""

import sys

from workers.entry import main

sys.exit(main())
