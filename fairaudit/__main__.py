"""``python -m fairaudit`` runs the command line."""

import sys

from fairaudit.cli import main

sys.exit(main())
