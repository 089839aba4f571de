"""``python -m npshm``: the npshm command line tool (see npshm._cli)."""

from ._cli import main

main()
