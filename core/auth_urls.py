"""The login and password-reset pages, the same on every host: a brand's site (its members and
staff, in its schema) and the platform's domain (operators, public schema).

A completed reset lifts the account's lockout (`core.lockout`): whoever reads the owner's e-mail
is the owner. The e-mail goes through EMAIL_BACKEND (files under var/mail/ in development)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from core.lockout import LockoutAuthenticationForm, login_lockout_clear
from tenants.selectors import schema_current


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        login_lockout_clear(schema_name=schema_current(), username=form.user.get_username())
        return response


def login_view():
    return auth_views.LoginView.as_view(authentication_form=LockoutAuthenticationForm)


def password_reset_urls() -> list[URLPattern]:
    return [
        path(
            "password-reset/",
            auth_views.PasswordResetView.as_view(
                template_name="registration/reset_request.html",
                email_template_name="registration/reset_email.txt",
                subject_template_name="registration/reset_subject.txt",
            ),
            name="password_reset",
        ),
        path(
            "password-reset/sent/",
            auth_views.PasswordResetDoneView.as_view(template_name="registration/reset_sent.html"),
            name="password_reset_done",
        ),
        path(
            "password-reset/<uidb64>/<token>/",
            PasswordResetConfirmView.as_view(),
            name="password_reset_confirm",
        ),
        path(
            "password-reset/done/",
            auth_views.PasswordResetCompleteView.as_view(template_name="registration/reset_complete.html"),
            name="password_reset_complete",
        ),
    ]
