"""`python -m insightkb` is the `insightkb` command."""
from insightkb.cli import cli

cli()
