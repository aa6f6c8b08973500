"""mamcli: exact Binance USD-M Multi-Assets margin arithmetic from the shell.

This module deliberately imports nothing: `mamcli --help` in a cron job should pay only for what it uses.
"""
