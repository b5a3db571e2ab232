"""The administrator's configuration: ``config/intake.toml``, loaded and checked.

`load_config` reads the TOML file named by its argument, by ``INTAKE_CONFIG``,
or ``config/intake.toml`` under the project root, and returns a frozen
`IntakeConfig`.  Anything wrong raises `ConfigError(file, key, message)`,
whose text is the one line an administrator needs, for example::

    config/intake.toml: mailboxes[0].port: must be a whole number from 1 to 65535

Relative paths in the file (Maildir folders, outbox, templates, forms, CA
files, ``sqlite:///`` store files) resolve against the *project root*: the
folder holding ``config/``, or ``INTAKE_HOME`` where that is set (the Docker
image sets ``INTAKE_HOME=/app``).  They do not depend on where the config
file itself lives, so a file mounted at ``/etc/intake.toml`` means the same
as one in ``config/``.

Secrets never live here: a mailbox names the *environment variable* holding
its password (``password_env``) or its OAuth2 client secret
(``client_secret_env``); ``DATABASE_URL`` in the environment wins over
``[store] url``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.errors import IntakeError
from parsers.limits import Limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
# Exchange Online's resource: ".default" asks for the application permissions the
# app registration was granted (IMAP.AccessAsApp, SMTP.SendAsApp).
APP_SCOPES = ("https://outlook.office365.com/.default",)
# Delegated (device code) sign-in: a person's own permissions on the mailbox.
DELEGATED_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
)
OAUTH_FLOWS = ("client_credentials", "device_code")
# RFC 2177: a server may end an IDLE after 30 minutes of inactivity, so it is
# renewed well before (Exchange Online and Dovecot both keep it that long).
IDLE_RENEW_RANGE = (60, 29 * 60)


class ConfigError(IntakeError):
    """The configuration is wrong: which file, which key, what is wrong."""

    reason = "config_invalid"
    retryable = False

    def __init__(self, file: str, key: str, message: str) -> None:
        super().__init__(f"{file}: {key}: {message}")
        self.file = file
        self.key = key
        self.message = message


@dataclass(frozen=True)
class ServiceConfig:
    name: str = "Referral intake"
    reference_prefix: str = "WSP"
    timezone: str = "Europe/London"
    our_addresses: list[str] = field(default_factory=list)
    message_id_domain: str = "intake.invalid"
    trusted_domains: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoreConfig:
    url: str = "sqlite:///var/intake.sqlite3"


@dataclass(frozen=True)
class ScheduleConfig:
    poll_seconds: int = 60
    batch_size: int = 50


@dataclass(frozen=True)
class RetryConfig:
    max_attempts: int = 5
    backoff_seconds: int = 60  # doubled per attempt, capped at MAX_BACKOFF_SECONDS


@dataclass(frozen=True)
class MailboxConfig:
    name: str
    kind: str  # imap | maildir
    path: str = ""  # maildir: the Maildir folder (absolute once loaded)
    host: str = ""
    port: int = 0  # 0 = the default for `security` (993 for tls, 143 otherwise)
    security: str = "tls"  # tls | starttls | none (loopback only)
    username: str = ""
    password_env: str = ""
    auth: str = "password"  # password | oauth2 (XOAUTH2: Microsoft 365)
    ca_file: str = ""
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    sent_folder: str = ""
    failed_folder: str = ""
    timeout_seconds: int = 30
    # OAuth2 (auth = "oauth2"; intake.mailbox.oauth): an app registration in the tenant
    oauth_flow: str = "client_credentials"  # client_credentials | device_code
    tenant_id: str = ""  # the directory (tenant) id, or one of its domains
    client_id: str = ""  # the app registration's application (client) id
    client_secret_env: str = ""  # the environment variable holding a client secret, or:
    client_certificate: str = ""  # a .pem (private key + certificate) or .pfx file
    client_certificate_password_env: str = ""  # the variable holding its password, if any
    client_secret_expires: date | None = None  # the secret's (or certificate's) expiry date
    authority: str = MICROSOFT_AUTHORITY
    authority_ca_file: str = ""  # CA bundle for the authority (e.g. an inspecting proxy)
    oauth_scopes: list[str] = field(default_factory=list)  # default: APP_/DELEGATED_SCOPES
    token_cache: str = ""  # device_code: the file keeping the refresh token (var/oauth/)
    # Pick-up: IMAP IDLE where the server offers it, and a poll as the backstop
    idle: bool = True
    idle_renew_seconds: int = 300
    poll_seconds: int = 0  # 0: schedule.poll_seconds


@dataclass(frozen=True)
class RulesConfig:
    ignore_automatic: bool = True
    # A sender our mail server says FAILED authentication (dmarc=fail...) is held for a
    # person and never answered.
    check_dmarc: bool = True
    # A sender our server neither proved nor failed (no verdict, dmarc=none) is still
    # answered, at its From address only, never with the form attached; it changes no
    # case.  False: held for a person like a failure (no reply at all).
    answer_unproven_senders: bool = True
    # Our receiving server's authserv-ids: only its Authentication-Results are believed.
    authserv_ids: list[str] = field(default_factory=list)
    # Exchange Online's own results, proven by X-MS-Exchange-Organization-AuthAs.
    exchange_online: bool = False
    # ARC sealers whose results count where our server validated the chain (arc=pass).
    arc_trusted_sealers: list[str] = field(default_factory=list)
    # The form types read, by their schemas' form_type; every schema in forms_dir
    # when not given.  The form types live only in config/forms/ (issue 10).
    accept_forms: list[str] = field(default_factory=list)
    # The administrators' mailbox rules (issue 11, intake.rules): "" processes all mail.
    file: str = ""


@dataclass(frozen=True)
class RepliesConfig:
    transport: str = "outbox"  # outbox | smtp
    outbox_dir: str = "var/outbox"
    from_address: str = ""
    from_name: str = ""
    templates_dir: str = "config/replies"
    attach_form_to_return: bool = True
    max_per_sender_per_hour: int = 3
    bcc: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls | tls | none (loopback only)
    username: str = ""
    password_env: str = ""
    timeout_seconds: int = 30
    auth: str = "password"  # password | oauth2 (XOAUTH2 with a mailbox's app registration)
    oauth_mailbox: str = ""  # oauth2: the [[mailboxes]] entry whose app registration signs in
    # Messages a minute the server takes from us (Exchange Online: 30 a mailbox); 0: no limit.
    max_per_minute: int = 30


@dataclass(frozen=True)
class CasesConfig:
    resubmission_window_days: int = 30


@dataclass(frozen=True)
class AlertsConfig:
    """Alert emails to administrators: a mailbox that cannot sign in, a secret
    about to expire (`intake.alarms`).  Sent through ``[alerts.smtp]`` when it is
    configured (a route that does not depend on the failing sign-in), else the
    way replies go."""

    to: list[str] = field(default_factory=list)
    from_address: str = ""  # default: replies.from_address
    repeat_hours: int = 1  # at most one alert per alarm in this many hours
    expiry_warning_days: int = 30  # warn this many days before client_secret_expires
    smtp: SmtpConfig | None = None


@dataclass(frozen=True)
class WebConfig:
    """The review pages (issue 12)."""

    session_idle_minutes: int = 30  # a session ends after this long without a request
    base_url: str = "http://127.0.0.1:8000"  # how team emails link to the pages


@dataclass(frozen=True)
class NotificationsConfig:
    """Emails to the partnership team (issue 12), sent through the outbox: one per new
    accepted referral and per message needing a person, and a daily digest."""

    to: list[str] = field(default_factory=list)  # the team's address(es); empty: none sent
    digest_at: str = "08:00"  # local time (service.timezone) of the daily digest; "" for none


@dataclass(frozen=True)
class IntakeConfig:
    """The whole configuration; every path in it is absolute."""

    service: ServiceConfig
    store: StoreConfig
    schedule: ScheduleConfig
    retry: RetryConfig
    limits: Limits
    mailboxes: list[MailboxConfig]
    rules: RulesConfig
    replies: RepliesConfig
    smtp: SmtpConfig
    cases: CasesConfig
    forms_dir: str
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    web: WebConfig = field(default_factory=WebConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    source: str = ""  # the file this was read from, as shown in errors
    base_dir: str = str(PROJECT_ROOT)
    # The mailbox rules (intake.rules.RuleSet) read from rules.file, validated (issue 11).
    mail_rules: Any = None
    rules_error: str = ""  # strict_rules=False: why the rules file was not loaded

    def mailbox(self, name: str) -> MailboxConfig:
        """The mailbox called ``name``; KeyError if there is none."""
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise KeyError(name)


SECTIONS: dict[str, type] = {
    "service": ServiceConfig,
    "store": StoreConfig,
    "schedule": ScheduleConfig,
    "retry": RetryConfig,
    "limits": Limits,
    "rules": RulesConfig,
    "replies": RepliesConfig,
    "smtp": SmtpConfig,
    "cases": CasesConfig,
    "web": WebConfig,
    "notifications": NotificationsConfig,
}
TOP_LEVEL_KEYS = (*SECTIONS, "mailboxes", "forms_dir", "alerts")


def project_root() -> Path:
    """Where relative paths resolve: ``INTAKE_HOME`` or the folder holding ``config/``."""
    home = os.environ.get("INTAKE_HOME")
    return Path(home).resolve() if home else PROJECT_ROOT


def default_config_path() -> Path:
    """``INTAKE_CONFIG`` if set, else ``config/intake.toml`` under the project root."""
    named = os.environ.get("INTAKE_CONFIG")
    return Path(named) if named else project_root() / "config" / "intake.toml"


def load_config(
    path: str | os.PathLike[str] | None = None, *, strict_rules: bool = True
) -> IntakeConfig:
    """Read and validate the configuration; raises `ConfigError` on any mistake.

    ``strict_rules=False`` (the web process, commands that decide no mail): a broken
    rules file leaves ``mail_rules`` None and its fault in ``rules_error`` instead of
    raising, so that a mistake in the rules never stops the review pages or the health
    check while the worker goes on under the rules in force (issue 11).
    """
    file = Path(path) if path is not None else default_config_path()
    shown = _display_path(file)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(shown, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, "(file)", f"cannot be read: {type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, "(file)", f"is not valid TOML: {exc}") from None
    return parse_config(data, shown, strict_rules=strict_rules)


def parse_config(
    data: Mapping[str, Any], shown: str = "intake.toml", *, strict_rules: bool = True
) -> IntakeConfig:
    """Validate an already-parsed TOML table (see `load_config`)."""
    _reject_unknown(data, TOP_LEVEL_KEYS, shown, "")
    root = project_root()
    built = {name: _build(cls, data.get(name, {}), shown, name) for name, cls in SECTIONS.items()}
    built["store"] = _store(built["store"], shown)
    _check_service(built["service"], shown)
    _check_schedule(built["schedule"], built["retry"], shown)
    _check_limits(built["limits"], shown)
    forms_dir = _string(data.get("forms_dir", "config/forms"), shown, "forms_dir")
    built["rules"] = _check_rules(built["rules"], _resolve(root, forms_dir), shown)
    built["replies"] = _check_replies(built["replies"], root, shown)
    _check_smtp(built["smtp"], built["replies"], shown)
    _check_positive(
        built["cases"].resubmission_window_days, shown, "cases.resubmission_window_days"
    )
    _check_web(built["web"], shown)
    _check_notifications(built["notifications"], built["replies"], shown)
    mailboxes = _mailboxes(data.get("mailboxes", []), root, shown, built["schedule"])
    _check_smtp_oauth(built["smtp"], mailboxes, shown, "smtp")
    alerts = _alerts(data.get("alerts", {}), built["replies"], mailboxes, shown)
    built["rules"] = dataclasses.replace(built["rules"], file=_resolve(root, built["rules"].file))
    mail_rules, rules_error = None, ""
    try:
        mail_rules = _mail_rules(built["rules"], built["service"], built["replies"], mailboxes)
    except ConfigError as exc:
        if strict_rules:
            raise
        rules_error = str(exc)
    return IntakeConfig(
        mailboxes=mailboxes,
        forms_dir=_resolve(root, forms_dir),
        alerts=alerts,
        source=shown,
        base_dir=str(root),
        mail_rules=mail_rules,
        rules_error=rules_error,
        **built,
    )


def _mail_rules(
    rules: RulesConfig,
    service: ServiceConfig,
    replies: RepliesConfig,
    mailboxes: list[MailboxConfig],
) -> Any:
    """The rules file ``rules.file`` names, validated (`intake.rules.RulesError`, a
    `ConfigError`, names the file, the rule and the fault); the built-in rules without one."""
    from intake.rules import default_rules, load_rules, rule_context

    if not rules.file:
        return default_rules()
    context = rule_context(rules, service, mailboxes, replies)
    return load_rules(rules.file, context, _display_path(Path(rules.file)))


def _display_path(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def _resolve(root: Path, value: str) -> str:
    return str(root / value) if value else ""


def _reject_unknown(
    table: Mapping[str, Any], allowed: tuple[str, ...], shown: str, where: str
) -> None:
    for key in table:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            raise ConfigError(shown, name, f"unknown key; allowed keys: {', '.join(allowed)}")


def _build(cls: type, table: Any, shown: str, where: str) -> Any:
    """Make the frozen dataclass ``cls`` from ``table``, checking keys and types."""
    if not isinstance(table, dict):
        raise ConfigError(shown, where, "must be a table")
    hints = typing.get_type_hints(cls)
    allowed = tuple(f.name for f in fields(cls))
    _reject_unknown(table, allowed, shown, where)
    values = {}
    for f in fields(cls):
        key = f"{where}.{f.name}"
        if f.name in table:
            values[f.name] = _typed(table[f.name], hints[f.name], shown, key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(shown, key, "is required")
    return cls(**values)


def _typed(value: Any, hint: Any, shown: str, key: str) -> Any:
    """Check ``value`` against a simple type hint (str, int, float, bool, list[str])."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(shown, key, "must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(shown, key, "must be a whole number")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(shown, key, "must be a number")
        return float(value)
    if hint is str:
        return _string(value, shown, key)
    if hint is date:
        return _date(value, shown, key)
    if typing.get_origin(hint) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(shown, key, "must be a list of strings")
        return list(value)
    raise TypeError(f"no config check for {hint!r}")  # a programming error


def _string(value: Any, shown: str, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(shown, key, "must be a string")
    return value


def _date(value: Any, shown: str, key: str) -> date:
    """A TOML date (``2027-03-31``), or the same written as a string."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(shown, key, "must be a date such as 2027-03-31")


def _one_of(value: str, allowed: tuple[str, ...], shown: str, key: str) -> None:
    if value not in allowed:
        raise ConfigError(shown, key, f"must be one of {', '.join(allowed)} (got {value!r})")


def _check_positive(value: int | float, shown: str, key: str) -> None:
    if value <= 0:
        raise ConfigError(shown, key, "must be greater than 0")


def _check_port(port: int, shown: str, key: str) -> None:
    if not 1 <= port <= 65535:
        raise ConfigError(shown, key, "must be a whole number from 1 to 65535")


def _store(store: StoreConfig, shown: str) -> StoreConfig:
    url = os.environ.get("DATABASE_URL") or store.url
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        key = "DATABASE_URL (environment)" if os.environ.get("DATABASE_URL") else "store.url"
        raise ConfigError(shown, key, "must start with sqlite:/// or postgresql://")
    return StoreConfig(url=url)


def _check_service(service: ServiceConfig, shown: str) -> None:
    try:
        ZoneInfo(service.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(shown, "service.timezone", "is not a known time zone") from None
    if not service.reference_prefix.isalnum():
        raise ConfigError(shown, "service.reference_prefix", "must be letters and digits only")
    for i, address in enumerate(service.our_addresses):
        if "@" not in address:
            raise ConfigError(shown, f"service.our_addresses[{i}]", "is not an email address")


def _check_schedule(schedule: ScheduleConfig, retry: RetryConfig, shown: str) -> None:
    _check_positive(schedule.poll_seconds, shown, "schedule.poll_seconds")
    _check_positive(schedule.batch_size, shown, "schedule.batch_size")
    _check_positive(retry.max_attempts, shown, "retry.max_attempts")
    _check_positive(retry.backoff_seconds, shown, "retry.backoff_seconds")


def _check_limits(limits: Limits, shown: str) -> None:
    for f in fields(limits):
        _check_positive(getattr(limits, f.name), shown, f"limits.{f.name}")
    if limits.max_message_seconds < limits.max_seconds:
        # Issue 8: the whole message's budget covers its documents too.
        raise ConfigError(
            shown, "limits.max_message_seconds", "must not be less than limits.max_seconds"
        )


def _check_rules(rules: RulesConfig, forms_dir: str, shown: str) -> RulesConfig:
    """``rules`` with ``accept_forms`` checked against the form schemas of
    ``forms_dir`` (all of them when not given)."""
    from parsers.schema import SchemaError, load_schemas

    try:
        known = list(load_schemas(Path(forms_dir)))
    except SchemaError as exc:
        raise ConfigError(shown, "forms_dir", f"the form schemas cannot be read: {exc}") from exc
    for i, form in enumerate(rules.accept_forms):
        _one_of(form, tuple(known), shown, f"rules.accept_forms[{i}]")
    return rules if rules.accept_forms else dataclasses.replace(rules, accept_forms=known)


def _check_replies(replies: RepliesConfig, root: Path, shown: str) -> RepliesConfig:
    _one_of(replies.transport, ("outbox", "smtp"), shown, "replies.transport")
    if replies.from_address and "@" not in replies.from_address:
        raise ConfigError(shown, "replies.from_address", "is not an email address")
    if replies.max_per_sender_per_hour < 0:
        raise ConfigError(shown, "replies.max_per_sender_per_hour", "must not be negative")
    return dataclasses.replace(
        replies,
        outbox_dir=_resolve(root, replies.outbox_dir),
        templates_dir=_resolve(root, replies.templates_dir),
    )


def _check_smtp(smtp: SmtpConfig, replies: RepliesConfig, shown: str, where: str = "smtp") -> None:
    if replies.transport == "smtp" and not smtp.host:
        raise ConfigError(shown, f"{where}.host", "is required when replies.transport is smtp")
    _check_port(smtp.port, shown, f"{where}.port")
    _one_of(smtp.security, ("starttls", "tls", "none"), shown, f"{where}.security")
    if smtp.security == "none" and smtp.host and smtp.host not in LOOPBACK_HOSTS:
        raise ConfigError(
            shown, f"{where}.security", "none is only allowed for 127.0.0.1 or localhost"
        )
    _check_positive(smtp.timeout_seconds, shown, f"{where}.timeout_seconds")
    if smtp.max_per_minute < 0:
        raise ConfigError(shown, f"{where}.max_per_minute", "must not be negative (0: no limit)")
    _one_of(smtp.auth, ("password", "oauth2"), shown, f"{where}.auth")
    if smtp.auth == "oauth2" and not smtp.username:
        raise ConfigError(
            shown, f"{where}.username", "is required for oauth2 (the mailbox address)"
        )


def _check_smtp_oauth(
    smtp: SmtpConfig, mailboxes: list[MailboxConfig], shown: str, where: str
) -> None:
    """``auth = "oauth2"`` signs in with the app registration of a named IMAP mailbox."""
    if smtp.auth != "oauth2":
        return
    names = [m.name for m in mailboxes if m.kind == "imap" and m.auth == "oauth2"]
    if smtp.oauth_mailbox not in names:
        raise ConfigError(
            shown,
            f"{where}.oauth_mailbox",
            "must name an imap mailbox with auth = oauth2 whose app registration sends "
            f"(one of: {', '.join(names) or 'none configured'})",
        )


def _check_web(web: WebConfig, shown: str) -> None:
    if not 1 <= web.session_idle_minutes <= 12 * 60:
        raise ConfigError(shown, "web.session_idle_minutes", "must be a whole number from 1 to 720")
    if not web.base_url.startswith(("https://", "http://")):
        raise ConfigError(shown, "web.base_url", "must start with https:// (or http://)")


def _check_notifications(
    notifications: NotificationsConfig, replies: RepliesConfig, shown: str
) -> None:
    for i, address in enumerate(notifications.to):
        if "@" not in address:
            raise ConfigError(shown, f"notifications.to[{i}]", "is not an email address")
    if notifications.to and "@" not in replies.from_address:
        raise ConfigError(
            shown, "replies.from_address", "is required to send the team's notifications"
        )
    at = notifications.digest_at
    hour, _, minute = at.partition(":")
    if at and not (
        len(at) == 5 and hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60
    ):
        raise ConfigError(
            shown, "notifications.digest_at", 'must be a time of day as "HH:MM" (or "" for none)'
        )


def _alerts(
    table: Any, replies: RepliesConfig, mailboxes: list[MailboxConfig], shown: str
) -> AlertsConfig:
    if not isinstance(table, dict):
        raise ConfigError(shown, "alerts", "must be a table")
    plain = {k: v for k, v in table.items() if k != "smtp"}
    alerts: AlertsConfig = _build(AlertsConfig, plain, shown, "alerts")
    for i, address in enumerate(alerts.to):
        if "@" not in address:
            raise ConfigError(shown, f"alerts.to[{i}]", "is not an email address")
    sender = alerts.from_address or replies.from_address
    if alerts.to and "@" not in sender:
        raise ConfigError(
            shown, "alerts.from_address", "is required (or replies.from_address) to send alerts"
        )
    _check_positive(alerts.repeat_hours, shown, "alerts.repeat_hours")
    _check_positive(alerts.expiry_warning_days, shown, "alerts.expiry_warning_days")
    smtp = None
    if "smtp" in table:
        smtp = _build(SmtpConfig, table["smtp"], shown, "alerts.smtp")
        if not smtp.host:
            raise ConfigError(shown, "alerts.smtp.host", "is required")
        _check_smtp(smtp, replies, shown, "alerts.smtp")
        _check_smtp_oauth(smtp, mailboxes, shown, "alerts.smtp")
    return dataclasses.replace(alerts, from_address=sender, smtp=smtp)


def _mailboxes(
    items: Any, root: Path, shown: str, schedule: ScheduleConfig | None = None
) -> list[MailboxConfig]:
    if not isinstance(items, list):
        raise ConfigError(shown, "mailboxes", "must be a list of tables ([[mailboxes]])")
    schedule = schedule or ScheduleConfig()
    mailboxes = [
        _mailbox(item, root, shown, f"mailboxes[{i}]", schedule) for i, item in enumerate(items)
    ]
    seen: set[str] = set()
    for i, mailbox in enumerate(mailboxes):
        if mailbox.name in seen:
            raise ConfigError(shown, f"mailboxes[{i}].name", f"{mailbox.name!r} is used twice")
        seen.add(mailbox.name)
    return mailboxes


def _mailbox(
    item: Any, root: Path, shown: str, where: str, schedule: ScheduleConfig
) -> MailboxConfig:
    mailbox: MailboxConfig = _build(MailboxConfig, item, shown, where)
    if not mailbox.name or not mailbox.name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(shown, f"{where}.name", "must be letters, digits, - or _")
    if mailbox.name == "smtp":  # the alarms' name for the replies' SMTP sign-in
        raise ConfigError(shown, f"{where}.name", "smtp is reserved; choose another name")
    _one_of(mailbox.kind, ("imap", "maildir"), shown, f"{where}.kind")
    _check_positive(mailbox.timeout_seconds, shown, f"{where}.timeout_seconds")
    if mailbox.poll_seconds < 0:
        raise ConfigError(shown, f"{where}.poll_seconds", "must not be negative")
    low, high = IDLE_RENEW_RANGE
    if not low <= mailbox.idle_renew_seconds <= high:
        raise ConfigError(
            shown,
            f"{where}.idle_renew_seconds",
            f"must be from {low} to {high} (servers may end an IDLE after 30 minutes)",
        )
    mailbox = dataclasses.replace(
        mailbox, poll_seconds=mailbox.poll_seconds or schedule.poll_seconds
    )
    if not mailbox.folder or not mailbox.processed_folder:
        raise ConfigError(shown, f"{where}.processed_folder", "must not be empty")
    if mailbox.folder == mailbox.processed_folder:
        raise ConfigError(shown, f"{where}.processed_folder", "must differ from folder")
    if mailbox.kind == "maildir":
        if not mailbox.path:
            raise ConfigError(shown, f"{where}.path", "is required for a maildir mailbox")
        return dataclasses.replace(mailbox, path=_resolve(root, mailbox.path))
    return _imap_mailbox(mailbox, root, shown, where)


def _imap_mailbox(mailbox: MailboxConfig, root: Path, shown: str, where: str) -> MailboxConfig:
    for key in ("host", "username"):
        if not getattr(mailbox, key):
            raise ConfigError(shown, f"{where}.{key}", "is required for an imap mailbox")
    _one_of(mailbox.security, ("tls", "starttls", "none"), shown, f"{where}.security")
    if mailbox.security == "none" and mailbox.host not in LOOPBACK_HOSTS:
        raise ConfigError(
            shown, f"{where}.security", "none is only allowed for 127.0.0.1 or localhost"
        )
    _one_of(mailbox.auth, ("password", "oauth2"), shown, f"{where}.auth")
    if mailbox.auth == "password" and not mailbox.password_env:
        raise ConfigError(
            shown,
            f"{where}.password_env",
            "names the environment variable holding the password; it is required",
        )
    if mailbox.auth == "oauth2":
        mailbox = _oauth_mailbox(mailbox, root, shown, where)
    port = mailbox.port or (993 if mailbox.security == "tls" else 143)
    _check_port(port, shown, f"{where}.port")
    return dataclasses.replace(mailbox, port=port, ca_file=_resolve(root, mailbox.ca_file))


def _oauth_mailbox(mailbox: MailboxConfig, root: Path, shown: str, where: str) -> MailboxConfig:
    """Check the OAuth2 keys; fill in the scopes and the token cache file by flow."""
    _one_of(mailbox.oauth_flow, OAUTH_FLOWS, shown, f"{where}.oauth_flow")
    for key in ("tenant_id", "client_id"):
        if not getattr(mailbox, key):
            raise ConfigError(shown, f"{where}.{key}", "is required for auth = oauth2")
    if not mailbox.authority.startswith("https://"):
        raise ConfigError(shown, f"{where}.authority", "must be an https:// address")
    app_only = mailbox.oauth_flow == "client_credentials"
    credentials = [k for k in ("client_secret_env", "client_certificate") if getattr(mailbox, k)]
    if app_only and len(credentials) != 1:
        raise ConfigError(
            shown,
            f"{where}.client_secret_env",
            "oauth2 with client_credentials needs exactly one of client_secret_env "
            "(the variable holding a client secret) or client_certificate (a .pem or .pfx file)",
        )
    scopes = mailbox.oauth_scopes or list(APP_SCOPES if app_only else DELEGATED_SCOPES)
    cache = "" if app_only else mailbox.token_cache or f"var/oauth/{mailbox.name}.json"
    return dataclasses.replace(
        mailbox,
        oauth_scopes=scopes,
        token_cache=_resolve(root, cache),
        client_certificate=_resolve(root, mailbox.client_certificate),
        authority_ca_file=_resolve(root, mailbox.authority_ca_file),
        authority=mailbox.authority.rstrip("/"),
    )
