from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

from members.services.accounts import user_signup_populate
from members.services.outbox import email_enqueue


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Fill the sign-up form's name and country before allauth's one save of the new user.

        Both the email sign-up form and ORCID's sign-up form come through here (the social adapter's save_user
        calls it with commit=True, then saves the social account), so the user row is inserted complete and
        simple_history writes exactly one row for it.
        """
        data = form.cleaned_data
        if "full_name" in data and "country" in data:
            user_signup_populate(user=user, full_name=data["full_name"], country=data["country"])
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Render allauth's message as usual, then hand it to the outbox instead of sending it inline:
        it is delivered after the surrounding transaction commits, retried, and visible in admin."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = next(
            (content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), None
        )
        if message.content_subtype == "html":  # allauth found only an HTML template
            html = message.body
        email_enqueue(
            to=email,
            subject=message.subject,
            text=message.body,
            html=html,
            kind="account",
            related_key=template_prefix.rsplit("/", 1)[-1][:100],
        )
