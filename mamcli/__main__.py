"""The process entry point, for the `mamcli` script and `python -m mamcli` alike.

Signals are set up before anything else is imported (console.start), so a Ctrl-C in the first milliseconds,
while Click is still being imported, ends as every other one does: `mamcli: interrupted`, exit 130.
"""

from __future__ import annotations

from mamcli import console


def run() -> None:
    console.start()

    def body() -> int:
        from mamcli.cli import main

        main(prog_name="mamcli")  # exits through console.run itself
        return 0

    console.run(body)


if __name__ == "__main__":
    run()
