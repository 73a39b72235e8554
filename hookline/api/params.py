"""Path parameters are text from outside too: the same rules as body fields (domain.text).

An id holding NUL cannot even be compared on PostgreSQL, so it is refused before any
route reads it, with the 422 a body field would get.
"""

from __future__ import annotations

from fastapi import Depends, Request

from hookline.services.validation import clean_path_params


def refuse_unsafe_path(request: Request) -> None:
    clean_path_params(request.path_params)


SafePath = Depends(refuse_unsafe_path)
