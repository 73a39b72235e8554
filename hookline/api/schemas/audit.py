"""The audit log: who did what, when and from where."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hookline.services.audit import AuditEntry


class AuditEntryOut(BaseModel):
    id: str
    platform_id: str | None
    actor_kind: str = Field(description="user, platform_token or operator")
    actor_id: str = Field(description="The user id, the API token id, or 'operator' / 'cli'.")
    actor_email: str | None = Field(description="The user's email, while the user exists.")
    action: str = Field(
        examples=["webhook.secret.reveal"],
        description="What was done, e.g. webhook.create, webhook.update:url, webhook.stop,"
        " webhook.delete, webhook.secret.rotate, zone.set:2, platform.update:webhook_limit.",
    )
    target_id: str | None
    ip: str | None = Field(description="The caller's address as the server saw it.")
    user_agent: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        return cls(
            id=e.id,
            platform_id=e.platform_id,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            actor_email=e.actor_email,
            action=e.action,
            target_id=e.target_id,
            ip=e.ip,
            user_agent=e.user_agent,
            created_at=e.created_at,
        )


class AuditLog(BaseModel):
    data: list[AuditEntryOut]
    next_cursor: str | None
