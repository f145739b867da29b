"""Who publishes, consumes, answers and asks which subject on NATS: the source of each NATS user's permissions.

Each service connects as its own NATS user, allowed exactly what this table says (see
``greenfab.nats_config``); a test checks the table against the subscribers and publishers each
service registers on its broker, so a new consumer without its line here fails CI rather than
failing at run time with a permissions violation.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts import subjects


@dataclass(frozen=True)
class MessagingRole:
    """One NATS user's part in the system."""

    publishes: tuple[str, ...] = ()  # JetStream subjects (patterns allowed) it stores events on
    consumes: tuple[tuple[str, str], ...] = ()  # (subject filter, durable consumer) it reads with acks
    serves: tuple[str, ...] = ()  # core request/reply subjects it answers
    requests: tuple[str, ...] = ()  # core request/reply subjects it asks


def stream_of(subject: str) -> str:
    """The stream whose subjects cover ``subject`` (a subject or a pattern)."""
    for spec in subjects.ALL_STREAMS:
        for pattern in spec.subjects:
            if subject.startswith(pattern.removesuffix(">")):
                return spec.name
    raise KeyError(f"no stream stores {subject}")


P = subjects.PREFIX

ROLES: dict[str, MessagingRole] = {
    "intake": MessagingRole(
        publishes=(subjects.SUBMISSION_RECEIVED, subjects.NOTICE_RECEIVED),
        consumes=((subjects.EVALUATION_COMPLETED, subjects.CONSUMER_INTAKE_EVALUATIONS),),
        serves=(subjects.INTAKE_DECLARE, subjects.INTAKE_STATUS),
        requests=(subjects.WORKFLOW_UNITS,),  # which units a notice may be about
    ),
    "scoring": MessagingRole(
        publishes=(subjects.EVALUATION_COMPLETED, subjects.RULEBOOK_PUBLISHED),
        consumes=((subjects.SUBMISSION_RECEIVED, subjects.CONSUMER_SCORING_SUBMISSIONS),),
        serves=(subjects.SCORING_RESCORE,),
    ),
    "workflow": MessagingRole(
        publishes=(subjects.UNIT_CHANGED, subjects.DEADLINE_EVENTS, subjects.TASK_EVENTS),
        consumes=(
            (subjects.EVALUATION_COMPLETED, subjects.CONSUMER_WORKFLOW_EVALUATIONS),
            (subjects.NOTICE_RECEIVED, subjects.CONSUMER_WORKFLOW_NOTICES),
        ),
        serves=(subjects.WORKFLOW_UNITS,),
        requests=(subjects.SCORING_RESCORE,),
    ),
    "notify": MessagingRole(
        consumes=(
            (subjects.UNIT_CHANGED, subjects.CONSUMER_NOTIFY_UNITS),
            (subjects.DEADLINE_EVENTS, subjects.CONSUMER_NOTIFY_DEADLINES),
            (subjects.TASK_EVENTS, subjects.CONSUMER_NOTIFY_TASKS),
            (subjects.DEAD_LETTERS_ALL, subjects.CONSUMER_NOTIFY_DEAD_LETTERS),
        ),
    ),
    "audit": MessagingRole(
        consumes=(
            (f"{P}.submission.>", subjects.CONSUMER_AUDIT_SUBMISSIONS),
            (f"{P}.evaluation.>", subjects.CONSUMER_AUDIT_EVALUATIONS),
            (subjects.UNIT_CHANGED, subjects.CONSUMER_AUDIT_UNITS),
            (subjects.TASK_EVENTS, subjects.CONSUMER_AUDIT_TASKS),
            (subjects.DEADLINE_EVENTS, subjects.CONSUMER_AUDIT_DEADLINES),
        ),
    ),
    # Another system's front end declaring over NATS (README: front ends for declarations).
    "frontend": MessagingRole(requests=(subjects.INTAKE_DECLARE, subjects.INTAKE_STATUS)),
}
