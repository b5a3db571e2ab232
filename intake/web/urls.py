"""URLs of the review pages.  Ids, references and opaque tokens only: no personal data
in a URL (a search's words are kept in the session, the URL names them by a token)."""

from django.urls import path

from intake.web import (
    account,
    actions,
    downloads,
    learning,
    people,
    reports,
    rules,
    signin,
    views,
)

urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("search", views.queue_search, name="queue_search"),
    path("dashboard/", reports.dashboard, name="dashboard"),
    path("export/", reports.export_page, name="export"),
    path("export/referrals.csv", reports.export_csv, name="export_csv"),
    path("audit/", people.audit_page, name="audit_trail"),
    path("people/", people.people_page, name="people"),
    path("people/add", people.add_person, name="people_add"),
    path("people/<int:user_id>/", people.person_page, name="person"),
    path("people/<int:user_id>/change", people.change_person, name="person_change"),
    path("login/", signin.SignInView.as_view(), name="login"),
    path("login/verify/", signin.verify, name="signin_verify"),
    path("login/set-up/", signin.set_up, name="signin_setup"),
    path("login/recovery-codes/", signin.recovery_codes, name="recovery_codes"),
    path("logout/", signin.SignOutView.as_view(), name="logout"),  # POST only (Django 5)
    path("account/", account.account_page, name="account"),
    path("account/recovery-codes", account.renew_recovery_codes, name="account_recovery_codes"),
    path("account/password", account.change_password, name="account_password"),
    path("cases/<str:reference>/", views.case_page, name="case"),
    path("cases/<str:reference>/assign", actions.assign, name="case_assign"),
    path("cases/<str:reference>/status", actions.change_status, name="case_status"),
    path("cases/<str:reference>/notes", actions.add_note, name="case_note"),
    path("cases/<str:reference>/close", actions.close, name="case_close"),
    path("cases/<str:reference>/steps", actions.record_step, name="case_step"),
    path("cases/<str:reference>/answers/<slug:key>", views.correct_page, name="case_correct"),
    path(
        "cases/<str:reference>/answers/<slug:key>/save", actions.correct, name="case_correct_save"
    ),
    path("messages/<int:pk>/", views.message_page, name="message"),
    path("messages/<int:pk>/review", actions.mark_reviewed, name="message_review"),
    path("messages/<int:pk>/not-a-referral", actions.not_a_referral, name="message_not_referral"),
    path("messages/<int:pk>/make-case", actions.make_case, name="message_make_case"),
    path("messages/<int:pk>/resume", actions.resume, name="message_resume"),
    path("messages/<int:pk>/return", views.return_page, name="message_return"),
    path("messages/<int:pk>/return/send", actions.send_return, name="message_return_send"),
    path("messages/<int:pk>/place", learning.place_question, name="message_place"),
    path("messages/<int:pk>/read-again", learning.read_again, name="message_read_again"),
    path("wordings/", learning.wordings_page, name="wordings"),
    path("rules/", rules.rules_page, name="rules"),
    path("rules/dry-run", rules.dry_run, name="rules_dry_run"),
    path("wordings/<int:wording_id>/decide", learning.decide_wording, name="wording_decide"),
    path("messages/<int:pk>/original.eml", downloads.original, name="message_original"),
    path(
        "messages/<int:pk>/attachments/<int:attachment_pk>",
        downloads.attachment,
        name="attachment",
    ),
]
