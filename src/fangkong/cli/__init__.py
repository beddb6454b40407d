"""The `fangkong` command (Typer). Only this package prints, and only it maps errors to exit
codes: 0 success, 1 an unexpected failure, 2 a FangkongError (bad input, not found, ...)."""
