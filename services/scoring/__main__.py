"""`python -m services.scoring`: run the scoring service."""

from greenfab.service import main
from services.scoring.bootstrap import build

if __name__ == "__main__":
    main("scoring", build)
