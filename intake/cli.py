"""The ``intake`` command: one entry point for administrators and operators.

Every sub-command first loads and checks the configuration; a mistake is
printed as one line naming the file, the key and what is wrong, and the
command exits 2, never with a traceback.  Then Django is set up.

Exit codes: 0 done; 1 the work failed (a mailbox unreachable, a message that
could not be assessed); 2 the command or configuration is wrong.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from intake.config import ConfigError, IntakeConfig, load_config

Handler = Callable[[argparse.Namespace, IntakeConfig], int]
RULES_COMMANDS = ("worker", "poll", "check", "check-config", "rules")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config:
        os.environ["INTAKE_CONFIG"] = args.config
    if args.command in (
        "check",
        "check-config",
        "poll",
        "createuser",
        "seed",
        "healthcheck",
        "rules",
    ):
        from intake.logging import configure_logging

        configure_logging(stream=sys.stderr)  # stdout is the command's own answer
    try:
        # The commands that decide mail refuse a broken rules file; the others go on
        # (a rules mistake must not stop the health check or the web: issue 11).
        config = load_config(strict_rules=args.command in RULES_COMMANDS)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_django()
    handler: Handler = args.handler
    from intake.errors import MailboxError

    try:
        return handler(args, config)
    except MailboxError as exc:
        print(f"intake {args.command}: mailbox error: {exc.reason}", file=sys.stderr)
        return 1


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intake",
        description="Safeguarding referral intake: mailbox to cases, exactly once.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="configuration file (default: $INTAKE_CONFIG or config/intake.toml)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add(commands, "migrate", "create or update the database tables", cmd_migrate)
    user = _add(
        commands,
        "createuser",
        "add a person who may sign in; or change their role (--role), or reset their "
        "password and second factor (--reset)",
        cmd_createuser,
    )
    user.add_argument("username")
    user.add_argument(
        "--role",
        choices=("team", "admin"),
        default=None,
        help="team (the default for a new person) or admin; for someone who exists, changes it",
    )
    user.add_argument(
        "--reset",
        action="store_true",
        help="for someone who exists: a new password, their second factor set up again at "
        "the next sign-in, and their account unlocked",
    )
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _add(commands, "worker", "poll the mailboxes on schedule until SIGTERM/SIGINT", cmd_worker)
    poll = _add(commands, "poll", "poll every mailbox once, then exit", cmd_poll)
    poll.add_argument(
        "--once", action="store_true", help="one poll, then exit (the only mode; for cron)"
    )
    serve = _add(commands, "serve", "run the web process (gunicorn)", cmd_serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    check_config = _add(commands, "check-config", "validate the configuration", cmd_check_config)
    check_config.add_argument(
        "--connect",
        action="store_true",
        help="also sign in to each mailbox (and the SMTP servers) and say exactly what is wrong",
    )
    health = _add(
        commands,
        "healthcheck",
        "exit 0 when every mailbox is read and signs in (the container's HEALTHCHECK)",
        cmd_healthcheck,
    )
    health.add_argument(
        "--web",
        metavar="URL",
        help="check instead that the web process answers at URL (e.g. http://127.0.0.1:8000/healthz)",
    )
    signin = _add(
        commands,
        "signin",
        "sign a person in to a mailbox with oauth_flow = device_code (once; the token is kept)",
        cmd_signin,
    )
    signin.add_argument("mailbox", help="the [[mailboxes]] name")
    check = _add(commands, "check", "assess one message with no side effects", cmd_check)
    check.add_argument("message", metavar="MESSAGE.eml")
    check.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _add_rules(commands)
    resume = _add(
        commands,
        "resume",
        "try a parked message again from where it was parked (the next poll takes it)",
        cmd_resume,
    )
    resume.add_argument("message_id", type=int, metavar="MESSAGE_ID", help="as the pages show it")
    _add(
        commands,
        "seed",
        "put example referral emails in the local Maildir (first run only)",
        cmd_seed,
    )
    return parser


def _add_rules(commands: Any) -> None:
    rules = _add(
        commands,
        "rules",
        "see what the mailbox rules do (issue 11): `rules test MESSAGE.eml` explains the rule "
        "that matches one message; `rules test --mailbox NAME --last 100` runs them over a "
        "live mailbox, read-only; --rules NEW.toml compares a proposed file with those in force",
        cmd_rules,
    )
    rules.add_argument("action", choices=("test",), help="test: what the rules would do")
    rules.add_argument("message", nargs="?", metavar="MESSAGE.eml", help="one message to explain")
    rules.add_argument("--mailbox", metavar="NAME", help="dry-run over this mailbox's folder")
    rules.add_argument(
        "--last", type=int, default=100, metavar="N", help="the newest N messages (100)"
    )
    rules.add_argument("--rules", metavar="NEW.toml", help="a proposed rules file to compare")
    rules.add_argument("--json", action="store_true", help="print the result as JSON")


def _add(commands: Any, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text, description=help_text)
    sub.set_defaults(handler=handler)
    # Also after the sub-command (intake check-config --config PATH); SUPPRESS keeps a
    # value given before it when it is not repeated here.
    sub.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help="configuration file"
    )
    return sub


def cmd_migrate(args: argparse.Namespace, config: IntakeConfig) -> int:
    from django.core.management import call_command

    _ensure_sqlite_folder()
    call_command("migrate", interactive=False, verbosity=1)
    return 0


def _ensure_sqlite_folder() -> None:
    from django.conf import settings

    from intake.store import prepare_sqlite_file

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # Owner-only before SQLite creates it with the umask's mode (issue 8).
        prepare_sqlite_file(str(db["NAME"]))


def cmd_createuser(args: argparse.Namespace, config: IntakeConfig) -> int:
    """Create a person, or (someone who exists) change their role or reset them.

    Every answer is one line; a problem is exit status 2 with no traceback, including
    no terminal to ask for a password on (use ``--password-stdin``).
    """
    from django.contrib.auth.models import User

    from intake.users import UserError

    existing = User.objects.filter(username=args.username).first()
    try:
        if existing is None:
            return _create_person(args)
        if not (args.reset or args.role):
            raise UserError(
                f"a user called {args.username!r} exists already "
                "(--role to change their role, --reset to reset their password and second factor)"
            )
        return _change_person(existing, args)
    except UserError as exc:
        print(f"intake createuser: {exc}", file=sys.stderr)
        return 2


def _create_person(args: argparse.Namespace) -> int:
    from intake.users import UserError, create_user

    if args.reset:
        raise UserError(f"there is no user called {args.username!r} to reset")
    role = args.role or "team"
    create_user(args.username, _password(args), role)
    print(f"created {role} user {args.username}; they set up an authenticator app at first sign-in")
    return 0


def _change_person(user: Any, args: argparse.Namespace) -> int:
    from django.db import transaction

    from intake import users

    if args.reset:
        password = _password(args)
        with transaction.atomic():
            users.set_password(user, password)
            users.reset_second_factor(user)
            users.unlock(user)
        print(f"reset {args.username}: new password; second factor set up again at next sign-in")
    if args.role:
        changed = users.set_role(user, args.role)
        print(f"{args.username} is {'now' if changed else 'already'} {args.role}")
    return 0


def _password(args: argparse.Namespace) -> str:
    from intake.users import UserError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password on: use --password-stdin")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except (EOFError, KeyboardInterrupt):
        raise UserError("no password given") from None
    if first != again:
        raise UserError("the passwords differ")
    return first


def _start_readers() -> None:
    """Start the parser sandbox with workers that log as this process does."""
    from parsers.sandbox import get_pool

    get_pool(initializer="intake.logging:configure_reader_logging")


def cmd_worker(args: argparse.Namespace, config: IntakeConfig) -> int:
    from intake.config import default_config_path
    from intake.reload import check_rule_folders, mailbox_folders
    from intake.worker import run_worker

    try:  # a rule filing into a folder the mailbox lacks (issue 11): refused at start too
        check_rule_folders(config, mailbox_folders(config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    _start_readers()
    return run_worker(config, str(default_config_path()))  # reloaded when it changes (issue 11)


def cmd_poll(args: argparse.Namespace, config: IntakeConfig) -> int:
    from intake import alarms, notifications
    from intake.config import default_config_path
    from intake.pipeline import poll_all
    from intake.reload import mailbox_folders, put_in_force

    _start_readers()
    put_in_force(config, str(default_config_path()), lambda: mailbox_folders(config))  # issue 11
    results = poll_all(config)
    for r in results:
        if not r.skipped:
            alarms.note_poll(r.mailbox, r.error, r.error_detail)
    alarms.tend(config)  # alert emails for a sign-in that failed, as the worker would
    notifications.tend(config)  # the team's daily digest once it is time (issue 12)
    for r in results:
        state = "skipped (another worker holds the lease)" if r.skipped else (r.error or "ok")
        print(
            f"{r.mailbox}: {state}; fetched {r.fetched}, stored {r.stored}, "
            f"duplicates {r.duplicates}, decided {r.decided}, filed {r.filed}, "
            f"errors {r.errors}, parked {r.parked}"
        )
    return 1 if any(r.error for r in results) else 0


def cmd_serve(args: argparse.Namespace, config: IntakeConfig) -> int:
    from django.conf import settings
    from django.core.management import call_command

    # The settings module's own list: reading settings.SECRET_KEY when it is empty
    # would raise ImproperlyConfigured with a traceback.
    problems = getattr(settings, "DEPLOYMENT_PROBLEMS", [])
    for problem in problems:
        print(f"intake serve: {problem}", file=sys.stderr)
    if problems:
        return 2
    call_command("collectstatic", interactive=False, verbosity=0)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--access-logfile",
        "-",
    ]
    sys.stdout.flush()
    os.execv(sys.executable, argv)  # gunicorn takes over this process (signals, exit code)


def cmd_check_config(args: argparse.Namespace, config: IntakeConfig) -> int:
    problems = _form_and_reply_problems(config)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    names = ", ".join(f"{m.name} ({m.kind})" for m in config.mailboxes) or "none"
    print(f"{config.source}: OK; mailboxes: {names}")
    from intake.authentication import config_warnings

    for warning in config_warnings(config):  # issue 8: no authserv-id, nobody authenticated
        print(warning, file=sys.stderr)
    if not args.connect:
        return 0
    worst = _check_connections(config)
    from intake.reload import check_rule_folders, mailbox_folders

    try:  # the folders the rules file into exist (issue 11)
        check_rule_folders(config, mailbox_folders(config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return worst


def _form_and_reply_problems(config: IntakeConfig) -> list[str]:
    """The form schemas and reply templates, checked as the worker will use them."""
    from jinja2 import TemplateError

    from intake.replies import KINDS, template_environment
    from parsers.schema import SchemaError, load_schemas

    problems: list[str] = []
    try:
        schemas = load_schemas(Path(config.forms_dir))
        unknown = sorted(set(config.rules.accept_forms) - set(schemas))
        if unknown:
            problems.append(f"{config.source}: rules.accept_forms: no form schema for {unknown}")
    except SchemaError as exc:
        problems.append(str(exc))
    env = template_environment(config.replies.templates_dir)
    for kind in KINDS:
        for suffix in ("subject.txt", "txt", "html"):
            name = f"{kind}.{suffix}"
            try:
                env.get_template(name)
            except TemplateError as exc:
                problems.append(f"{config.replies.templates_dir}/{name}: {exc}")
    return problems


def _check_connections(config: IntakeConfig) -> int:
    """Sign in to every mailbox and SMTP server; one line each saying what is wrong."""
    worst = max((_check_mailbox(m) for m in config.mailboxes), default=0)
    routes = []
    if config.replies.transport == "smtp":
        routes.append(("smtp", config.smtp))
    if config.alerts.smtp is not None:
        routes.append(("alerts.smtp", config.alerts.smtp))
    return max([worst, *(_check_smtp(name, smtp, config) for name, smtp in routes)])


def _check_mailbox(mailbox: Any) -> int:
    from intake.errors import MailboxError
    from intake.mailbox import open_mailbox
    from intake.mailbox.imap import ImapMailbox

    box = ImapMailbox(mailbox, retries=0) if mailbox.kind == "imap" else open_mailbox(mailbox)
    try:
        with box:
            folders = sorted(box.list_folders())
    except MailboxError as exc:
        print(f"{mailbox.name}: cannot connect: {_fault_line(exc)}", file=sys.stderr)
        return 1
    print(f"{mailbox.name}: connected; folders: {', '.join(folders)}")
    if mailbox.folder not in folders:
        print(
            f"{mailbox.name}: folder_missing: {mailbox.folder!r} does not exist; "
            f"the folders are: {', '.join(folders)}",
            file=sys.stderr,
        )
    if mailbox.processed_folder not in folders:
        missing = mailbox.processed_folder
        print(f"{mailbox.name}: folder {missing!r} does not exist (it will be created)")
    return 0 if mailbox.folder in folders else 1


def _schemas_for_check(config: IntakeConfig) -> Any:
    """What the worker reads forms with, the team's wordings included; the
    configured schemas alone when there is no database to read them from."""
    from django.db import DatabaseError

    from intake.assess import schemas_in, taught_schemas

    try:
        return taught_schemas(config)
    except DatabaseError:
        return schemas_in(str(config.forms_dir))


def _fault_line(exc: Any) -> str:
    """``reason: detail`` (or the reason's meaning when there is no detail)."""
    from intake.mailbox.base import Fault

    try:
        meaning = Fault(exc.reason).label
    except ValueError:
        meaning = ""
    return f"{exc.reason}: {exc.detail or meaning}" if exc.detail or meaning else exc.reason


def _check_smtp(name: str, smtp: Any, config: IntakeConfig) -> int:
    """Connect and sign in to an SMTP server (nothing is sent)."""
    import smtplib

    from intake.errors import MailboxError
    from intake.mailbox.imap import connect_fault
    from intake.smtp import connect

    where = f"{smtp.host}:{smtp.port}"
    try:
        client = connect(smtp, config)
    except MailboxError as exc:
        print(f"{name}: cannot sign in: {_fault_line(exc)}", file=sys.stderr)
        return 1
    except smtplib.SMTPResponseException as exc:
        words = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        print(
            f"{name}: refused at {where}: {exc.smtp_code} {' '.join(words.split())}",
            file=sys.stderr,
        )
        return 1
    except (smtplib.SMTPException, OSError) as exc:
        fault = connect_fault(exc, smtp) if isinstance(exc, OSError) else None
        line = _fault_line(fault) if fault else f"{where}: {type(exc).__name__}"
        print(f"{name}: cannot connect: {line}", file=sys.stderr)
        return 1
    client.quit()
    signed = f" as {smtp.username} ({smtp.auth})" if smtp.username else ""
    print(f"{name}: connected to {where}{signed}")
    return 0


def cmd_healthcheck(args: argparse.Namespace, config: IntakeConfig) -> int:
    """0 when healthy; 1 with the reason on stderr (``/healthz``'s rules)."""
    if args.web:
        return _web_answers(args.web)
    from django.utils import timezone

    from intake.health import health_report

    healthy, body = health_report(config, timezone.now())
    print(json.dumps(body, separators=(",", ":")))
    return 0 if healthy else 1


def _web_answers(url: str) -> int:
    """The web process answers ``url`` (200 or 503: either way it is up)."""
    import urllib.error
    import urllib.request

    from django.conf import settings

    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    request = urllib.request.Request(url, headers={"Host": hosts[0]} if hosts else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"intake healthcheck: {url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"{url}: {status}")
    return 0 if status in (200, 503) else 1


def cmd_signin(args: argparse.Namespace, config: IntakeConfig) -> int:
    """The device-code sign-in of a person for a delegated (device_code) mailbox."""
    from intake.mailbox.oauth import DelegatedTokens, token_source

    try:
        mailbox = config.mailbox(args.mailbox)
    except KeyError:
        print(f"intake signin: no mailbox called {args.mailbox!r}", file=sys.stderr)
        return 2
    source = token_source(mailbox) if mailbox.auth == "oauth2" else None
    if not isinstance(source, DelegatedTokens):
        print(
            f"intake signin: mailbox {mailbox.name!r} does not use oauth_flow = device_code",
            file=sys.stderr,
        )
        return 2
    source.sign_in(lambda text: print(text, flush=True))
    print(f"{mailbox.name}: signed in; the token is kept in {mailbox.token_cache}")
    return 0


def cmd_check(args: argparse.Namespace, config: IntakeConfig) -> int:
    from intake.assess import assess_message

    try:
        raw = Path(args.message).read_bytes()
    except OSError as exc:
        print(
            f"intake check: cannot read {args.message}: {exc.strerror or type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    try:
        with _stdout_to_stderr():
            outcome = assess_message(raw, config, schemas=_schemas_for_check(config)).as_outcome()
    except Exception as exc:
        print(
            f"intake check: could not assess {args.message}: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    print(
        json.dumps(outcome, indent=2, ensure_ascii=False)
        if args.json
        else describe_outcome(outcome)
    )
    return 0


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr meanwhile: the parser sandbox's processes
    inherit it and may log there, and stdout must hold only the outcome."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def describe_outcome(outcome: dict[str, Any]) -> str:
    """The outcome as lines a person reads (``intake check`` without ``--json``)."""
    reply = outcome.get("reply")
    lines = [
        f"decision:  {outcome['decision']}",
        f"form:      {outcome.get('form_type') or '-'}",
        f"missing:   {', '.join(outcome.get('missing') or []) or '-'}",
        "invalid:   "
        + (", ".join(f"{i['field']} ({i['reason']})" for i in outcome.get("invalid") or []) or "-"),
        f"flags:     {', '.join(outcome.get('flags') or []) or '-'}",
        "deadlines: "
        + (", ".join(f"{k} {v}" for k, v in (outcome.get("deadlines") or {}).items()) or "-"),
        f"reply:     {reply['kind'] + ' to ' + reply['to'] if reply else '-'}",
        f"rule:      {_rule_words(outcome.get('rule') or {})}",
    ]
    lines += ["reasons:"] + [f"  - {reason}" for reason in outcome.get("reasons") or []]
    lines += ["fields:"] + [
        f"  {k}: {_one_line(v)}" for k, v in (outcome.get("fields") or {}).items()
    ]
    return "\n".join(lines)


def _rule_words(rule: dict[str, Any]) -> str:
    """``coroner: hold for a person (...)`` (issue 11); "-" when no rule was applied."""
    if not rule.get("name"):
        return "-"
    return f"{rule['name']}: {rule.get('does') or rule.get('action')}"


def cmd_rules(args: argparse.Namespace, config: IntakeConfig) -> int:
    """``intake rules test``: explain one message, or dry-run a live mailbox (read-only)."""
    proposed = None
    if args.rules:
        from intake.rules import load_rules, rule_context

        context = rule_context(config.rules, config.service, config.mailboxes, config.replies)
        try:
            proposed = load_rules(args.rules, context)
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
    if args.mailbox:
        return _rules_dry_run(args, config, proposed)
    if not args.message:
        print("intake rules test: give MESSAGE.eml or --mailbox NAME", file=sys.stderr)
        return 2
    return _rules_on_message(args, config, proposed)


def _rules_on_message(args: argparse.Namespace, config: IntakeConfig, proposed: Any) -> int:
    from intake.dryrun import outcome, rule_message

    try:
        raw = Path(args.message).read_bytes()
    except OSError as exc:
        print(f"intake rules test: cannot read {args.message}: {exc.strerror}", file=sys.stderr)
        return 2
    rules = proposed or config.mail_rules
    with _stdout_to_stderr():
        facts, ruling = rule_message(raw, config, rules)
    in_force = None
    if proposed is not None:
        from intake.rules import evaluate

        in_force = evaluate(config.mail_rules, facts)
    if args.json:
        print(json.dumps(_ruling_json(args.message, rules, ruling, in_force), indent=2))
        return 0
    print(f"message: {args.message}")
    print(f"from:    {facts.sender or '-'} (our mail server's verdict: {facts.authentication})")
    if facts.automatic:
        print("automatic mail: never answered, whatever a rule says (ignored unless held)")
    print(f"rules:   {rules.describe()}")
    print()
    print("\n".join(ruling.explanation()))
    if in_force is not None:
        change = "no change" if outcome(in_force) == outcome(ruling) else "CHANGED"
        print(f"in force ({config.mail_rules.describe()}): {in_force.rule}: {in_force.does()}")
        print(f"proposed: {change}")
    return 0


def _ruling_json(message: str, rules: Any, ruling: Any, in_force: Any) -> dict[str, Any]:
    trace = [
        {
            "rule": t.rule.name,
            "matched": t.matched,
            "conditions": [
                {"condition": r.wanted, "held": r.held, "found": r.found}
                for r in (*t.results, *t.exceptions)
            ],
        }
        for t in ruling.trace
    ]
    data = {"message": message, "rules": rules.describe(), "ruling": ruling.as_dict()}
    data["trace"] = trace
    if in_force is not None:
        data["in_force"] = in_force.as_dict()
    return data


def _rules_dry_run(args: argparse.Namespace, config: IntakeConfig, proposed: Any) -> int:
    from intake.dryrun import format_table, mailbox_dry_run, short

    try:
        mailbox = config.mailbox(args.mailbox)
    except KeyError:
        names = ", ".join(m.name for m in config.mailboxes) or "none"
        print(f"intake rules test: no mailbox called {args.mailbox!r} ({names})", file=sys.stderr)
        return 2
    if args.last < 1:
        print("intake rules test: --last must be 1 or more", file=sys.stderr)
        return 2
    _start_readers()
    try:
        with _stdout_to_stderr():
            run = mailbox_dry_run(config, mailbox, args.last, proposed)
    except ConfigError as exc:  # the proposal files into a folder this mailbox lacks
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        rows = [
            {
                "uid": int(r.key),
                "received": r.received.isoformat() if r.received else None,
                "from": r.sender,
                "in_force": short(r.in_force),
                "proposed": short(r.proposed) if r.proposed else None,
                "changed": r.changed,
            }
            for r in run.rows
        ]
        print(json.dumps({"total": run.total, "seconds": round(run.seconds, 2), "rows": rows}))
        return 0
    print(format_table(run))
    return 0


def _one_line(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).replace("\n", " / ")


def cmd_resume(args: argparse.Namespace, config: IntakeConfig) -> int:
    from intake import casework
    from intake.models import InboundMessage

    message = InboundMessage.objects.filter(pk=args.message_id).first()
    if message is None:
        print(f"intake resume: no message {args.message_id}", file=sys.stderr)
        return 1
    try:
        casework.resume(message, None, via="command")
    except casework.CaseworkError as exc:
        print(f"intake resume: message {args.message_id}: {exc}", file=sys.stderr)
        return 1
    print(f"message {args.message_id} will be tried again at the next poll")
    return 0


def cmd_seed(args: argparse.Namespace, config: IntakeConfig) -> int:
    from intake.seed import seed_maildir

    count = seed_maildir(config)
    print(
        f"seeded {count} example emails"
        if count
        else "nothing to seed (already seeded, or no Maildir mailbox)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
