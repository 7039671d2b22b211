"""`python -m bot` is the `fazhi` command."""

import sys

from bot.cli import main

sys.exit(main())
