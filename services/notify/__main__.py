"""`python -m services.notify`: run the notify service."""

from greenfab.service import main
from services.notify.bootstrap import build

if __name__ == "__main__":
    main("notify", build)
