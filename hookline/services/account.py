"""A signed-in person changes their own password (members and operators alike).

The current password is checked the way a login checks it (``users.login``: counted,
throttled, constant-time), so a stolen session cannot try passwords faster than the
login form allows. The change ends every session of the user (``users.set_password``)
and opens a fresh one for the browser that made it.
"""

from __future__ import annotations

from hookline.domain.errors import InvalidInput, InvalidLogin
from hookline.domain.models import Actor, User
from hookline.services import users
from hookline.services.context import Context


def change_password(
    ctx: Context, user: User, *, current: str, new: str, actor: Actor
) -> users.LoginResult:
    """The new session (the old ones have ended); ``LoginThrottled`` passes through."""
    users.clean_password(new, field="new_password")
    try:
        users.login(ctx, user.email, current)
    except InvalidLogin:
        raise InvalidInput.single(
            "current_password", "wrong_password", "current_password is not your password."
        ) from None
    users.set_password(ctx, user.id, new, actor=actor)
    return users.login(ctx, user.email, new)
