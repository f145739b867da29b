"""The notify service's HTTP bodies: channel choice and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    EmailStr,
    Field,
    HttpUrl,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError, ValidationError

from contracts.text import find_invisible

ChannelName = Literal["inbox", "email", "webhook"]
DeliveryStatus = Literal["pending", "sending", "sent", "dead"]


def _email(value: object, handler: ValidatorFunctionWrapHandler, _: ValidationInfo) -> object:
    """pydantic's e-mail check, with a reason in Chinese as well (a CR, LF or NUL in an address is a header
    injection attempt, so it is named as such)."""
    if isinstance(value, str) and (bad := find_invisible(value, lines=False)) is not None:
        raise PydanticCustomError(
            "email_invalid",
            "not a valid e-mail address: {message_en}",
            {"message_en": bad.message_en, "message_zh": f"电子邮件地址无效：{bad.message_zh}"},
        )
    try:
        return handler(value)
    except ValueError as exc:
        why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise PydanticCustomError(
            "email_invalid", "{why}", {"why": why[:300], "message_zh": "电子邮件地址无效（格式应为 name@example.com）"}
        ) from None


Email = Annotated[EmailStr, WrapValidator(_email)]


class ChannelChoice(BaseModel):
    """How the caller (its enterprise, district or the bureau) wants to be told."""

    channels: list[ChannelName] = Field(min_length=1, max_length=3, description="Any of inbox, email, webhook.")
    email: Email | None = Field(default=None, description="Required when `email` is chosen.")
    webhook_url: HttpUrl | None = Field(default=None, description="Required when `webhook` is chosen.")

    @model_validator(mode="after")
    def _addresses(self) -> Self:
        if "email" in self.channels and self.email is None:
            raise ValueError("`email` is required when the email channel is chosen")
        if "webhook" in self.channels and self.webhook_url is None:
            raise ValueError("`webhook_url` is required when the webhook channel is chosen")
        return self


class ChannelChoicePublic(BaseModel):
    """A recipient's saved choice."""

    recipient: str = Field(description="The inbox: a USCC, a district, or a role's shared inbox (`bureau`).")
    channels: list[ChannelName]
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None = Field(
        default=None,
        description="Only in the answer that set a new webhook URL: the HMAC-SHA256 key to check signatures with.",
    )


class Delivery(BaseModel):
    """One notification to one recipient over one channel."""

    id: int
    source_event: str = Field(description="The event that caused it.")
    recipient: str = Field(description="A USCC, a district, or a role's shared inbox (`bureau`).")
    recipient_role: str = Field(description="The recipient's role: its inbox is this role and name together.")
    channel: ChannelName
    template: str
    title: str
    status: DeliveryStatus = Field(description="pending, sending, sent, or dead (failed every try; staff retry it).")
    attempts: int
    last_error: str = Field(description="Why the last try failed, or why it could not be sent at all.")
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
