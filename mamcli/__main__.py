"""`python -m mamcli` runs the same command group as the `mamcli` script."""

from mamcli.cli import main

main(prog_name="mamcli")
