from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.sessions import stamp_at_sign_in

        user_logged_in.connect(stamp_at_sign_in, dispatch_uid="accounts.staff_session_stamp")
        # The staff each process keeps (the queues' select of whom to assign to): read again
        # when an account's roles, name or state change.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import User, staff_changed

        post_save.connect(staff_changed, sender=User, dispatch_uid="kept-staff-saved")
        post_delete.connect(staff_changed, sender=User, dispatch_uid="kept-staff-deleted")
        m2m_changed.connect(staff_changed, sender=User.groups.through, dispatch_uid="kept-staff-groups")
