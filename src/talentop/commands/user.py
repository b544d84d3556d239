"""`talentop user ...`: accounts, passwords, roles, API tokens, TOTP policy (run on the server
by whoever holds the database; the first admin is made this way, nothing ships with one)."""

from __future__ import annotations

import getpass
import sys

import typer

from talentop.commands._edge import console, edge, number_table, print_json, print_table

URL_HELP = (
    "Database URL (default: TALENTOP_DATABASE_URL, else the SQLite file talentop.db in the "
    "current directory)."
)

user_app = typer.Typer(
    help="Manage the people who use the trial: accounts with argon2id passwords, roles and "
    "sites, API tokens, TOTP. Run by the trial's administrator on the server; every change "
    "is in the audit trail.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="API tokens for integrations: shown once, stored hashed, named, expiring.",
    no_args_is_help=True,
)
user_app.add_typer(token_app, name="token")


def _ctx(url: str | None):
    from talentop.protocol import load_protocol
    from talentop.services import Context
    from talentop.store import Store, require_schema

    store = Store(url)
    require_schema(store)
    return Context(store, load_protocol("talentop"), "system")


def _password(username: str, from_stdin: bool) -> str:
    """The new password from standard input (one line) or typed twice at a prompt; never a
    command-line flag (it would sit in the shell history and the process list)."""
    from talentop.errors import InvalidInput

    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise InvalidInput("password: no terminal to prompt on; pipe it with --password-stdin")
    first = getpass.getpass(f"New password for {username} (at least 12 characters): ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("password: the two entries differ")
    return first


STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from standard input (one line)."
)


@user_app.command("add")
@edge
def add(
    username: str = typer.Argument(..., help="Login name: letters, digits, '.', '_', '-'."),
    role: str = typer.Option(
        ...,
        "--role",
        help="coordinator, data_manager, investigator, mdt_member, surgeon, monitor, "
        "statistician or admin.",
    ),
    site: str | None = typer.Option(None, "--site", help="Home site code (site staff)."),
    full_name: str | None = typer.Option(None, "--full-name", help="Printed name (signatures)."),
    specialty: str | None = typer.Option(
        None, "--specialty", help="MDT members: e.g. hepatobiliary_surgeon, radiologist."
    ),
    assign: str | None = typer.Option(
        None,
        "--assign-sites",
        help="Monitors: comma-separated codes of the sites they read (a monitor without "
        "assigned sites sees no patient).",
    ),
    password_stdin: bool = STDIN,
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create a user who can log in. The password is asked for twice (or read from
    standard input): at least 12 characters and not the username."""
    from talentop.services import identity

    ctx = _ctx(url)
    password = _password(username, password_stdin)
    assigned = [c.strip() for c in (assign or "").split(",") if c.strip()]
    user_id = identity.create_account(
        ctx, username, role, password, site_code=site, full_name=full_name, specialty=specialty,
        assigned_sites=assigned or None,
    )  # fmt: skip
    result = {
        "user_id": user_id, "username": username, "role": role, "site": site,
        "assigned_sites": assigned,
    }  # fmt: skip
    if as_json:
        print_json(result)
    else:
        sites = f", reads sites {', '.join(assigned)}" if assigned else ""
        console.print(
            f"user [bold]{username}[/] created: role {role}, site {site or 'none'}{sites}"
        )
        if role == "monitor" and not assigned:
            console.print(
                "note: a monitor reads only the sites assigned to them: "
                f"talentop user role {username} --assign-sites CODE,..."
            )


@user_app.command("passwd")
@edge
def passwd(
    username: str = typer.Argument(..., help="Whose password to set."),
    password_stdin: bool = STDIN,
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Set a user's password (ends their open sessions)."""
    from talentop.services import identity

    ctx = _ctx(url)
    result = identity.change_password(ctx, _password(username, password_stdin), username=username)
    console.print(f"password of {username} changed; {result['sessions_ended']} session(s) ended")


@user_app.command("disable")
@edge
def disable(
    username: str = typer.Argument(...),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Disable an account: sessions end, tokens stop working, nothing is deleted."""
    from talentop.services import identity

    result = identity.set_active(_ctx(url), username, False)
    console.print(f"{username} disabled; {result['sessions_ended']} session(s) ended")


@user_app.command("enable")
@edge
def enable(
    username: str = typer.Argument(...),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Enable a disabled account again."""
    from talentop.services import identity

    identity.set_active(_ctx(url), username, True)
    console.print(f"{username} enabled")


@user_app.command("role")
@edge
def role(
    username: str = typer.Argument(...),
    new_role: str | None = typer.Option(None, "--role", help="The new role."),
    site: str | None = typer.Option(None, "--site", help="The new home site code."),
    no_site: bool = typer.Option(False, "--no-site", help="Remove the home site."),
    assign: str | None = typer.Option(
        None, "--assign-sites", help="Monitors: comma-separated site codes ('' for none)."
    ),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Change a user's role, home site or assigned sites (their sessions end)."""
    from talentop.services import identity

    assigned = None if assign is None else [c.strip() for c in assign.split(",") if c.strip()]
    result = identity.change_role(
        _ctx(url),
        username,
        role=new_role,
        site_code=site,
        clear_site=no_site,
        assigned_sites=assigned,
    )
    console.print(f"{username}: role {result['role']}; {result['sessions_ended']} session(s) ended")


@user_app.command("list")
@edge
def list_users(
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the users as JSON."),
) -> None:
    """Every user: role, site, assigned sites, active, TOTP (never a credential)."""
    from talentop import services as sv

    page = sv.list_users(_ctx(url), limit=500)
    if as_json:
        print_json(page.to_dict())
        return
    rows = [
        [
            u["username"],
            u["role"],
            u["site"] or "",
            ",".join(u["assigned_sites"]),
            "yes" if u["active"] else "no",
            "yes" if u["totp_enabled"] else "no",
            "yes" if u["can_log_in"] else "no",
        ]
        for u in page.items
    ]
    print_table(
        number_table(
            f"{page.total} user(s)",
            ["username", "role", "site", "assigned", "active", "TOTP", "login"],
            rows,
        )
    )


@user_app.command("totp-reset")
@edge
def totp_reset(
    username: str = typer.Argument(...),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Remove a user's TOTP (lost phone); they set it up again at their next login."""
    from talentop.services import identity

    identity.reset_totp(_ctx(url), username)
    console.print(f"TOTP of {username} removed")


@user_app.command("policy")
@edge
def policy(
    role_name: str = typer.Argument(..., help="The role."),
    require_totp: bool = typer.Option(
        ..., "--require-totp/--no-require-totp", help="Whether the role must use TOTP."
    ),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Require (or not) a TOTP second factor for every user of a role."""
    from talentop.services import identity

    identity.set_role_policy(_ctx(url), role_name, require_totp=require_totp)
    console.print(f"role {role_name}: TOTP {'required' if require_totp else 'optional'}")


@token_app.command("create")
@edge
def token_create(
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Option(..., "--name", help="What the token is for (e.g. lab-import)."),
    days: int = typer.Option(90, "--expires-days", help="Days until it expires (1-366)."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create an API token. It is printed once, now: store it in the integration's secret
    store; the database keeps only its hash."""
    from talentop.services import identity

    result = identity.create_token(_ctx(url), name, expires_in_days=days, username=username)
    if as_json:
        print_json(result)
        return
    console.print(
        f"token {result['token_id']} for {username} ({name}), expires {result['expires_at']}:"
    )
    sys.stdout.write(result["token"] + "\n")


@token_app.command("list")
@edge
def token_list(
    username: str | None = typer.Argument(None, help="Whose tokens (default: everyone's)."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the tokens as JSON."),
) -> None:
    """API tokens: name, prefix, created, expires, last used, revoked (never the token)."""
    from talentop.services import identity

    ctx = _ctx(url)
    if username is None:
        tokens = identity.list_tokens(ctx, all_users=True)
    else:
        tokens = identity.list_tokens(ctx, username=username)
    if as_json:
        print_json(tokens)
        return
    rows = [
        [
            str(t["token_id"]),
            t["username"],
            t["name"],
            t["prefix"] + "...",
            t["expires_at"][:16],
            (t["last_used_at"] or "never")[:16],
            "revoked" if t["revoked_at"] else "active",
        ]
        for t in tokens
    ]
    print_table(
        number_table(
            f"{len(rows)} token(s)",
            ["id", "user", "name", "prefix", "expires", "last used", "status"],
            rows,
        )
    )


@token_app.command("revoke")
@edge
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id (token list)."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
) -> None:
    """Revoke an API token at once."""
    from talentop.services import identity

    identity.revoke_token(_ctx(url), token_id)
    console.print(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
