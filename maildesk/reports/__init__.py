"""Reports (复盘): weekly and monthly figures, recurring problems, in the terminal, as CSV/JSON and as HTML mail."""
