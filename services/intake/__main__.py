"""`python -m services.intake`: run the intake service."""

from greenfab.service import main
from services.intake.bootstrap import build

if __name__ == "__main__":
    main("intake", build)
