"""The body of every error the API answers: RFC 9457 problem details, as api.errors writes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    field: str = Field(examples=["topics[1]"], description="Where: a dotted path, with [index].")
    code: str = Field(examples=["unknown_topic"])
    message: str = Field(description="A sentence naming the field.")


class Problem(BaseModel):
    """Clients branch on ``code``; some problems carry more members (``limit``, ``zone``)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["urn:hookline:problem:webhook_not_found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    code: str = Field(examples=["webhook_not_found"], description="Stable; see docs/errors.md.")
    detail: str = Field(description="A sentence for people.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="With validation_error: every offending field."
    )
