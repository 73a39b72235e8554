"""The delivery controls as form fields: read from a form, shown back in one.

The create form and the edit form share the fields (``webhooks/_controls_fields.html``)
and this reading of them. Extra headers are one ``Name: value`` per line; a saved
value is shown as the mask, and the mask sent back keeps it (``services.controls``).
The filter is the same JSON object the API takes. A blank field means "the platform's
default" (or no headers, no filter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Form

from hookline.domain.controls import MASK
from hookline.domain.errors import FieldError, InvalidInput
from hookline.domain.models import Webhook

CONTROL_FORM_FIELDS = (
    "headers",
    "timeout_seconds",
    "retry_policy",
    "filter",
    "rate_limit_per_second",
)
MAX_FORM_TEXT = 20_000


@dataclass
class ControlsForm:
    """The fields as typed, and what reading them found wrong (field -> code)."""

    headers: str = ""
    timeout_seconds: str = ""
    retry_policy: str = ""
    filter: str = ""
    rate_limit_per_second: str = ""
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, webhook: Webhook) -> ControlsForm:
        """A saved webhook's controls, header values masked, for an edit form."""
        flt = webhook.event_filter
        return cls(
            headers="\n".join(f"{name}: {MASK}" for name in webhook.header_names),
            timeout_seconds=str(webhook.timeout_seconds or ""),
            retry_policy=webhook.retry_policy.value if webhook.retry_policy else "",
            filter=json.dumps({k: list(v) for k, v in flt.items()}, ensure_ascii=False)
            if flt
            else "",
            rate_limit_per_second=str(webhook.rate_limit_per_second or ""),
        )

    def given(self) -> dict[str, Any]:
        """The controls for ``services.webhooks``; a field that cannot be read at all
        (a header line without a colon, a filter that is not JSON) raises InvalidInput."""
        out: dict[str, Any] = {}
        out["headers"] = self._headers()
        out["timeout_seconds"] = self._whole("timeout_seconds", self.timeout_seconds, 4)
        out["rate_limit_per_second"] = self._whole(
            "rate_limit_per_second", self.rate_limit_per_second, 6
        )
        out["retry_policy"] = self.retry_policy.strip() or None
        out["filter"] = self._filter()
        if self.problems:
            raise InvalidInput(
                [FieldError(f, code, f"{f}: {code}") for f, code in self.problems.items()]
            )
        return out

    def _whole(self, name: str, typed: str, longest: int) -> int | None:
        """A whole number typed in a field, ``None`` when blank (the range is the service's)."""
        text = typed.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) < longest:
            return int(text)
        self.problems[name] = "not_an_integer"
        return None

    def _headers(self) -> dict[str, str] | None:
        lines = [line.strip() for line in self.headers.splitlines() if line.strip()]
        if len(self.headers) > MAX_FORM_TEXT:
            self.problems["headers"] = "too_many"
            return None
        found: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                self.problems["headers"] = "header_line"
                return None
            found[name.strip()] = value.strip()
        return found or None

    def _filter(self) -> Any:
        text = self.filter.strip()
        if not text:
            return None
        if len(text) > MAX_FORM_TEXT:
            self.problems["filter"] = "invalid_filter"
            return None
        try:
            return json.loads(text)
        except ValueError:
            self.problems["filter"] = "filter_json"
            return None


def read_controls(
    headers: Annotated[str, Form()] = "",
    timeout_seconds: Annotated[str, Form()] = "",
    retry_policy: Annotated[str, Form()] = "",
    filter: Annotated[str, Form()] = "",
    rate_limit_per_second: Annotated[str, Form()] = "",
) -> ControlsForm:
    return ControlsForm(headers, timeout_seconds, retry_policy, filter, rate_limit_per_second)


ControlsDep = Annotated[ControlsForm, Depends(read_controls)]
"""The delivery-control fields of a posted form (create or edit)."""
