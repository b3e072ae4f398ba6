"""`python -m shipyard.cli` runs the `shipyard` command."""

from shipyard.cli.main import main

main()
