from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = "Referral intake"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from intake.store import protect_sqlite_files

        # The SQLite store holds every raw email: owner-only, whatever the umask (issue 8).
        connection_created.connect(protect_sqlite_files, dispatch_uid="intake_sqlite_owner_only")

        from intake.web.signin import connect_signals

        # Failed and locked-out sign-ins are audited with the account name (issue 12).
        connect_signals()
