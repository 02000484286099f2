from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.sessions import stamp_at_sign_in

        user_logged_in.connect(stamp_at_sign_in, dispatch_uid="accounts.staff_session_stamp")
