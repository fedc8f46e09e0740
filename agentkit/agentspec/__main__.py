"""``python -m agentkit.agentspec export|import ...``: the converter's own command line."""

import sys

from ._command import main

sys.exit(main())
