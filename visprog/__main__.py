"""``python -m visprog``."""

import sys

from visprog.cli import main

sys.exit(main())
