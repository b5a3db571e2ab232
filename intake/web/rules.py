"""``/rules/``: the administrators' mailbox rules page (issue 11).

The rules in force (read-only: the worker's record, never its files), a refused file's
fault, and the dry run of a proposed rules file, pasted or uploaded, over the stored
messages: what each would get under the rules in force and under the proposal.  The
page opens no mailbox and parses no mail (`intake.rules_review`); changing the rules
is done on the server, where the worker picks the file up.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from intake import audit, rules_review
from intake.config import ConfigError
from intake.dryrun import DryRun, changes, short
from intake.web.permissions import admin_required, reviewer

MAX_UPLOAD_BYTES = rules_review.MAX_PROPOSAL_CHARS


@require_GET
@admin_required
def rules_page(request: HttpRequest) -> HttpResponse:
    audit.record(request.user, audit.Verb.VIEWED, "rules", 0)
    return render(request, "intake/rules.html", _context())


@require_POST
@admin_required
def dry_run(request: HttpRequest) -> HttpResponse:
    """Validate the proposal and run it over the stored messages; nothing is saved."""
    text, problem = _proposal_text(request)
    context = _context()
    context["proposal"] = text
    in_force = context["in_force"].rules
    if problem:
        context["error"] = problem
        return render(request, "intake/rules.html", context, status=400)
    try:
        proposal = rules_review.read_proposal(text, settings.INTAKE)
    except ConfigError as exc:
        context["error"] = str(exc)
        return render(request, "intake/rules.html", context, status=400)
    if in_force is None:
        context["error"] = "The rules in force could not be read: " + context["in_force"].error
        return render(request, "intake/rules.html", context, status=400)
    run = rules_review.stored_dry_run(in_force, proposal, settings.INTAKE, reviewer(request))
    context.update(_run_context(run))
    return render(request, "intake/rules.html", context)


def _proposal_text(request: HttpRequest) -> tuple[str, str]:
    """(the proposal's text, "" or what is wrong with what was sent)."""
    upload = request.FILES.get("upload")
    if upload is not None:
        if upload.size is None or upload.size > MAX_UPLOAD_BYTES:
            return "", f"The file is too large (at most {MAX_UPLOAD_BYTES // 1000} KB)."
        try:
            return upload.read().decode("utf-8"), ""
        except UnicodeDecodeError:
            return "", "The file is not UTF-8 text (a rules file is TOML text)."
    text = request.POST.get("text", "")
    if not text.strip():
        return "", "Paste a rules file, or choose one to upload."
    return text, ""


def _context() -> dict[str, Any]:
    in_force = rules_review.rules_in_force(settings.INTAKE)
    rules = in_force.rules
    return {
        "in_force": in_force,
        "rules": [
            {
                "index": rule.index,
                "name": rule.name,
                "description": rule.description,
                "when": [c.wanted for c in rule.when],
                "unless": [c.wanted for c in rule.unless],
                "does": rule.does(),
            }
            for rule in (rules.rules if rules else ())
        ],
        "default": rules.default.does() if rules else "",
        "text": in_force.version.text if in_force.version else (rules.text if rules else ""),
        "max_messages": rules_review.DRY_RUN_MESSAGES,
    }


def _run_context(run: DryRun) -> dict[str, Any]:
    rows = [
        {
            "message_id": row.key,
            "received": row.received,
            "sender": row.sender,
            "in_force": short(row.in_force) + (" (automatic: ignored)" if _ignored(row) else ""),
            "proposed": short(row.proposed) + (" (automatic: ignored)" if _ignored(row) else "")
            if row.proposed
            else "",
            "changed": row.changed,
        }
        for row in run.rows
    ]
    by_rule = changes(run.rows)
    return {
        "run": run,
        "rows": rows,
        "changed_count": sum(by_rule.values()),
        "changed_by_rule": by_rule.most_common(),
    }


def _ignored(row: Any) -> bool:
    return bool(row.automatic) and row.in_force.action != "hold"
