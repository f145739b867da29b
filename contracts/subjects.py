"""NATS subjects and JetStream stream names: the only place they are spelled."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "greenfab"

SUBMISSION_RECEIVED = f"{PREFIX}.submission.received"
EVALUATION_COMPLETED = f"{PREFIX}.evaluation.completed"
# In the evaluations stream, so the audit service (which records every evaluation.>) records publications too.
RULEBOOK_PUBLISHED = f"{PREFIX}.evaluation.rulebook.published"
NOTICE_RECEIVED = f"{PREFIX}.submission.notice"
UNIT_CHANGED = f"{PREFIX}.unit.changed"
DEADLINE_PREFIX = f"{PREFIX}.deadline"
DEADLINE_EVENTS = f"{DEADLINE_PREFIX}.*"  # .upcoming, .due, .missed
TASK_PREFIX = f"{PREFIX}.task"
TASK_EVENTS = f"{TASK_PREFIX}.*"  # .opened, .updated, .claimed, .released, .escalated, .closed, .cancelled
DEAD_LETTER_PREFIX = f"{PREFIX}.deadletter"
DEAD_LETTERS_ALL = f"{DEAD_LETTER_PREFIX}.>"
# Core NATS request/reply (not stored): a front end declares and gets intake's answer back.
INTAKE_DECLARE = f"{PREFIX}.intake.declare"
# Core NATS request/reply: the same front end reads a declaration back (status, evaluation) without HTTP.
INTAKE_STATUS = f"{PREFIX}.intake.status"
# Core NATS request/reply: the workflow asks scoring to recompute a declaration with experts' points.
SCORING_RESCORE = f"{PREFIX}.scoring.rescore"
# Core NATS request/reply: intake asks the workflow service which units an enterprise has, so a notice
# about a unit that does not exist is refused while the caller waits.
WORKFLOW_UNITS = f"{PREFIX}.workflow.units"


def deadline_subject(kind: str) -> str:
    return f"{DEADLINE_PREFIX}.{kind}"


def task_subject(change: str) -> str:
    return f"{TASK_PREFIX}.{change}"


def dead_letter_subject(subject: str) -> str:
    """Where a message of ``subject`` goes once it has failed every try."""
    return f"{DEAD_LETTER_PREFIX}.{subject.removeprefix(PREFIX + '.')}"


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream: its name and the subjects it stores."""

    name: str
    subjects: tuple[str, ...]
    description: str


SUBMISSIONS = StreamSpec("GREENFAB_SUBMISSIONS", (f"{PREFIX}.submission.>",), "Declarations accepted by intake")
EVALUATIONS = StreamSpec("GREENFAB_EVALUATIONS", (f"{PREFIX}.evaluation.>",), "Results of the scoring service")
LIFECYCLE = StreamSpec(
    "GREENFAB_LIFECYCLE",
    (f"{PREFIX}.unit.>", f"{PREFIX}.deadline.>", f"{PREFIX}.task.>"),
    "Lifecycle events from the workflow service",
)
DEAD_LETTERS = StreamSpec("GREENFAB_DEADLETTER", (f"{DEAD_LETTER_PREFIX}.>",), "Messages that failed every try")

ALL_STREAMS: tuple[StreamSpec, ...] = (SUBMISSIONS, EVALUATIONS, LIFECYCLE, DEAD_LETTERS)

# Durable consumer names, one per (service, subject): a restart resumes where it stopped.
CONSUMER_SCORING_SUBMISSIONS = "scoring-submissions"
CONSUMER_INTAKE_EVALUATIONS = "intake-evaluations"
CONSUMER_WORKFLOW_EVALUATIONS = "workflow-evaluations"
CONSUMER_WORKFLOW_NOTICES = "workflow-notices"
CONSUMER_NOTIFY_UNITS = "notify-unit-changes"
CONSUMER_NOTIFY_DEADLINES = "notify-deadlines"
CONSUMER_NOTIFY_TASKS = "notify-tasks"
CONSUMER_NOTIFY_DEAD_LETTERS = "notify-dead-letters"
CONSUMER_AUDIT_SUBMISSIONS = "audit-submissions"
CONSUMER_AUDIT_EVALUATIONS = "audit-evaluations"
CONSUMER_AUDIT_UNITS = "audit-unit-changes"
CONSUMER_AUDIT_TASKS = "audit-tasks"
CONSUMER_AUDIT_DEADLINES = "audit-deadlines"
