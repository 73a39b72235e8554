"""Path parameters are text from outside too: the same rules as body fields (domain.text).

An id holding NUL cannot even be compared on PostgreSQL, so it is refused before any
route reads it, with the 422 a body field would get.
"""

from __future__ import annotations

from fastapi import Depends, Request

from hookline.domain.errors import FieldError, InvalidInput
from hookline.domain.text import text_refusal


def refuse_unsafe_path(request: Request) -> None:
    errors = [
        FieldError(name, refusal.code, refusal.message(name))
        for name, value in request.path_params.items()
        if isinstance(value, str) and (refusal := text_refusal(value)) is not None
    ]
    if errors:
        raise InvalidInput(errors)


SafePath = Depends(refuse_unsafe_path)
