"""`python -m services.console`: run the web console."""

from greenfab.service import main
from services.console.bootstrap import build

if __name__ == "__main__":
    main("console", build)
