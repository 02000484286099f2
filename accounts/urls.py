from django.urls import path

from accounts import second_factor_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout, name="logout"),
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("language/", views.set_language, name="set_language"),
    path("password/change/", views.password_change, name="password_change"),
    path("password/change/done/", views.password_change_done, name="password_change_done"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/sent/", views.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("password/reset/complete/", views.password_reset_complete, name="password_reset_complete"),
    # The second factor: the profile's page, setting up an app, the code step, recovery codes.
    path("second-factor/", second_factor_views.overview, name="second_factor"),
    path("second-factor/set-up/", second_factor_views.setup, name="second_factor_setup"),
    path("second-factor/code/", second_factor_views.verify, name="second_factor_verify"),
    path("second-factor/recovery-codes/", second_factor_views.codes, name="second_factor_codes"),
    path("second-factor/turn-off/", second_factor_views.turn_off, name="second_factor_turn_off"),
]
