"""Notify's pure core: templates, recipients, signatures and backoff."""

from __future__ import annotations

from services.notify.domain import Template, backoff_s, channels_for, recipient_of, render
from services.notify.signature import sign, valid
from services.notify.template_loader import load_templates


def test_every_shipped_template_renders_in_chinese_from_a_deadline_event() -> None:
    templates = load_templates()
    facts = {
        "enterprise_name": "北京示例", "uscc": "91110115MA04C2UX1E", "district": "大兴区", "deadline_zh": "绿色诊断",
        "due_on": "2027-11-22", "offset_days": 7, "clause": "003 第十六条", "consequence_zh": "撤销", "act_at": "https://portal",
    }  # fmt: skip
    for kind in ("upcoming", "due", "missed"):
        draft = render(templates, f"deadline.{kind}", "91110115MA04C2UX1E", "enterprise", facts)
        assert not draft.error, draft.error
        assert all(part in draft.body for part in ("绿色诊断", "003 第十六条", "https://portal", "2027-11-22"))


def test_a_missing_template_or_placeholder_is_an_error_not_a_skip() -> None:
    templates = {"t": Template(title="{a}", body="{b}")}
    assert "no template" in render(templates, "other", "r", "enterprise", {}).error
    assert "needs 'b'" in render(templates, "t", "r", "enterprise", {"a": 1}).error


def test_an_unnamed_recipient_is_an_error() -> None:
    assert "unknown recipient" in render({"t": Template("x", "y")}, "t", "", "district", {}).error


def test_recipients_and_their_channels() -> None:
    assert recipient_of("enterprise", "91110115MA04C2UX1E") == "91110115MA04C2UX1E"
    assert recipient_of("district", "大兴区") == "大兴区"
    assert recipient_of("bureau", None) == "bureau"
    assert recipient_of("district", None) == ""
    assert channels_for(None) == ["inbox"]
    assert channels_for(["email", "email", "webhook"]) == ["email", "webhook"]


def test_webhook_signatures_check_body_secret_and_age() -> None:
    sig = sign("s3cret", 1_700_000_000, b'{"a":1}')
    assert valid("s3cret", 1_700_000_000, b'{"a":1}', sig, now=1_700_000_100)
    assert not valid("s3cret", 1_700_000_000, b'{"a":2}', sig, now=1_700_000_100)
    assert not valid("other", 1_700_000_000, b'{"a":1}', sig, now=1_700_000_100)
    assert not valid("s3cret", 1_700_000_000, b'{"a":1}', sig, now=1_700_001_000), "a replay after 5 minutes"


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_a_dead_letter_tells_the_bureau_what_failed_and_what_was_marked() -> None:
    from contracts.envelope import Actor
    from contracts.messages import DeadLettered
    from services.notify.domain import Links, for_dead_letter

    letter = DeadLettered(
        correlation_id="c", actor=Actor(role="system", subject="greenfab-scoring"),
        subject="greenfab.submission.received", stream="GREENFAB_SUBMISSIONS", stream_seq=7,
        consumer="scoring-submissions", service="greenfab-scoring", deliveries=5,
        error="InvalidOperation: quantize", data="{}", uscc="91110115MA04C2UX1E",
        marked_failed="declaration 0f3c",
    )  # fmt: skip
    [draft] = for_dead_letter(letter, Links("https://portal", "https://staff"), load_templates())
    assert not draft.error, draft.error
    assert (draft.recipient, draft.recipient_role) == ("bureau", "bureau")
    assert all(part in draft.body for part in ("91110115MA04C2UX1E", "5 次", "InvalidOperation", "申报 0f3c"))
    # The Chinese names the service, the message and what was marked; the subject stays beside its name (replay).
    assert draft.body.startswith("评分服务处理“申报已受理”消息（greenfab.submission.received，")
    assert draft.title == "消息处理失败：申报已受理"
    assert "greenfab-scoring" not in draft.body and "declaration" not in draft.body
    unmarked = letter.model_copy(update={"marked_failed": None, "mark_error": "OperationalError: db down"})
    assert "需人工处理" in for_dead_letter(unmarked, Links("p", "s"), load_templates())[0].body
