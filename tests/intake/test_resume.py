"""A parked message can be tried again, from the page or the command line (issue 10)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from intake import casework, cli, pipeline
from intake.models import AuditEvent, InboundMessage
from tests.intake import factories

pytestmark = pytest.mark.django_db
State = InboundMessage.State


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def parked(**fields):
    values = {
        "state": State.PARKED,
        "parked_reason": "smtp_unavailable",
        "parked_from": State.DECIDED,
        "attempts": 5,
        "decision": "accepted",
    }
    return factories.message(**(values | fields))


def test_it_puts_a_parked_message_back_where_it_stopped_with_its_attempts_reset():
    message = parked()
    casework.resume(message, factories.user())
    message.refresh_from_db()
    assert (message.state, message.attempts) == (State.DECIDED, 0)
    event = AuditEvent.objects.get(verb="message_resumed")
    assert event.detail == {"parked_reason": "smtp_unavailable", "state": "decided", "via": "page"}


def test_it_refuses_to_resume_a_message_that_is_not_parked():
    message = factories.message(state=State.FILED)
    with pytest.raises(casework.CaseworkError):
        casework.resume(message, factories.user())
    assert not AuditEvent.objects.filter(verb="message_resumed").exists()


def test_the_next_poll_takes_a_resumed_message_on(make_config, settings, tmp_path):
    config = make_config()
    settings.INTAKE = config
    message = parked(parked_from=State.REPLIED, decision="ignored")
    casework.resume(message, None, via="command")
    pipeline.process_pending(config)
    message.refresh_from_db()
    # Taken on by the poll: filed, or tried and failed again (here the test message is
    # in no mailbox), never left waiting untouched.
    assert message.state == State.FILED or message.attempts > 0


def test_the_command_resumes_a_message_by_its_id(capsys):
    message = parked()
    assert cli.main(["resume", str(message.pk)]) == 0
    assert "tried again at the next poll" in capsys.readouterr().out
    message.refresh_from_db()
    assert message.state == State.DECIDED
    assert AuditEvent.objects.get(verb="message_resumed").detail["via"] == "command"


def test_the_command_says_so_when_there_is_nothing_to_resume(capsys):
    message = factories.message(state=State.FILED)
    assert cli.main(["resume", str(message.pk)]) == 1
    assert "nothing to resume" in capsys.readouterr().err


def test_a_team_member_tries_a_parked_message_again_from_its_page(client):
    message = parked()
    factories.sign_in(client, factories.user("team"))
    page = client.get(reverse("message", args=[message.pk])).content.decode()
    assert "Try this message again" in page
    client.post(reverse("message_resume", args=[message.pk]))
    message.refresh_from_db()
    assert message.state == State.DECIDED
