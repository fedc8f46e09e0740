"""``python -m agentkit.conformance``: the kit's command line with every option."""

import sys

from ._command import main

sys.exit(main())
