"""``python -m hil.cli``: the ``hil`` command, for running it without the installed script."""

import sys

from hil.cli import main

sys.exit(main())
