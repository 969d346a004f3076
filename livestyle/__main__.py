"""``python -m livestyle``: the same as the ``livestyle`` command."""

import sys

from livestyle.cli import main

sys.exit(main())
