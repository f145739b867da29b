"""`python -m services.workflow`: run the workflow service (Temporal worker, subscriber, staff API)."""

from greenfab.service import main
from services.workflow.bootstrap import build

if __name__ == "__main__":
    main("workflow", build)
