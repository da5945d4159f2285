"""`python -m pipeline_costs <subcommand>`."""

import sys

from pipeline_costs.cli import main

if __name__ == "__main__":
    sys.exit(main())
