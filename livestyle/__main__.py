"""``python -m livestyle``: the same as the ``livestyle`` command."""

import sys

from livestyle.cli import main

if __name__ == "__main__":  # importing this module (e.g. pkgutil.walk_packages) must not run the CLI
    sys.exit(main())
