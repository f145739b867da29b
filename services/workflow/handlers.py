"""The workflow service's use cases: route scoring's answers into the unit's workflow."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from contracts.messages import EvaluationCompleted
from contracts.schemes import SCHEME_DESIGNATION, workflow_id
from services.workflow.model import Deadline, EvaluationSignal, LifecycleInput
from services.workflow.workflows import UnitLifecycleWorkflow


async def on_evaluation(
    client: Client, task_queue: str, deadlines: dict[str, Deadline], event: EvaluationCompleted
) -> str:
    """Signal-with-start the unit's workflow: it starts once, and later declarations signal it."""
    designation = SCHEME_DESIGNATION[event.scheme]
    wid = workflow_id(event.uscc, designation)
    evaluation = event.evaluation
    signal = EvaluationSignal(
        submission_id=event.submission_id,
        correlation_id=event.correlation_id,
        total=str(evaluation.total) if evaluation else None,
        level=evaluation.level if evaluation else None,
        provisional=evaluation.provisional if evaluation else False,
        error=event.error,
    )
    await client.start_workflow(
        UnitLifecycleWorkflow.run,
        LifecycleInput(
            uscc=event.uscc,
            district=event.district,
            designation=designation,
            enterprise_name=event.enterprise_name,
            recommendation_deadline=deadlines["district-recommendation"],
        ),
        id=wid,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal="evaluation_completed",
        start_signal_args=[signal],
    )
    return wid
