"""`python -m greenfab_cli`: the greenfab command."""

from greenfab_cli.cli import main

if __name__ == "__main__":
    main()
