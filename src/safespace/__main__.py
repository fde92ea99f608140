"""``python -m safespace`` runs the command line."""

import sys

from safespace.cli import main

sys.exit(main())
