"""``python -m fer_sklearn.cli``: the ``fer-sklearn`` command."""

import sys

from . import main

sys.exit(main())
