"""Downloads of what referrers sent: the original message and each attachment.

Mail is hostile until proven otherwise, so a download is never shown in the
browser: ``Content-Disposition: attachment`` (RFC 6266) with a cleaned file
name, ``application/octet-stream``, ``X-Content-Type-Options: nosniff`` and
a sandbox CSP in case a browser ignores all that.  Every download is audited.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from intake import audit
from intake.models import Attachment, InboundMessage
from intake.web.display import safe_filename
from intake.web.permissions import reviewer_required


def download(data: bytes, filename: str) -> HttpResponse:
    """``data`` as a file to save, never to render."""
    response = HttpResponse(bytes(data), content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@require_GET
@reviewer_required
def original(request: HttpRequest, pk: int) -> HttpResponse:
    """The message exactly as fetched (its header only when it was too large to keep)."""
    message = get_object_or_404(InboundMessage, pk=pk)
    audit.record(request.user, audit.Verb.DOWNLOADED, audit.MESSAGE, message.pk, part="original")
    return download(bytes(message.raw or b""), f"message-{message.pk}.eml")


@require_GET
@reviewer_required
def attachment(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    """One attachment's bytes, under a safe version of its name."""
    found = get_object_or_404(Attachment, pk=attachment_pk, message_id=pk)
    audit.record(request.user, audit.Verb.DOWNLOADED, audit.MESSAGE, pk, attachment=found.pk)
    name = safe_filename(found.filename or found.path, f"attachment-{found.pk}")
    return download(bytes(found.data or b""), name)
