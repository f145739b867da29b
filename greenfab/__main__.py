"""`python -m greenfab`: the greenfab command."""

from greenfab.cli import main

if __name__ == "__main__":
    main()
