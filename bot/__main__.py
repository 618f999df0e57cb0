"""`python -m bot` is the same as `dvbot`."""

import sys

from bot.cli import main

sys.exit(main())
