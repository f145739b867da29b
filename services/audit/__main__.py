"""`python -m services.audit`: run the audit service."""

from greenfab.service import main
from services.audit.bootstrap import build

if __name__ == "__main__":
    main("audit", build)
