"""Who is acting: accounts with argon2id passwords, login with lock-out and optional TOTP,
browser sessions and API tokens (stored hashed), access and account events.

See ``sessions`` (login, logout, authenticate, tokens), ``accounts`` (create, passwords,
disable, roles, sites, TOTP policy) and ``totp`` (second factor).
"""

from talentop.services.identity.accounts import (
    change_password,
    change_role,
    create_account,
    reset_totp,
    set_active,
    set_role_policy,
    whoami,
)
from talentop.services.identity.passwords import MIN_LENGTH
from talentop.services.identity.sessions import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    LOCKOUT,
    MAX_FAILURES,
    Authenticated,
    LoginResult,
    authenticate,
    create_token,
    csrf_token,
    list_tokens,
    login,
    logout,
    logout_everywhere,
    revoke_token,
)
from talentop.services.identity.totp import begin_totp_setup, confirm_totp

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "LOCKOUT",
    "MAX_FAILURES",
    "MIN_LENGTH",
    "Authenticated",
    "LoginResult",
    "authenticate",
    "begin_totp_setup",
    "change_password",
    "change_role",
    "confirm_totp",
    "create_account",
    "create_token",
    "csrf_token",
    "list_tokens",
    "login",
    "logout",
    "logout_everywhere",
    "reset_totp",
    "revoke_token",
    "set_active",
    "set_role_policy",
    "whoami",
]
