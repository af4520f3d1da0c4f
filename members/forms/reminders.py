from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from members.models import Membership, Term, User


def reminder_recipients():
    """Members a reminder rule can apply to, as reminders_due chooses them: an active account, a membership
    not cancelled, and a term that counts (a term voided by a refund gives nothing to remind about)."""
    return User.objects.filter(
        Exists(Term.objects.counting().filter(membership__user=OuterRef("pk"))),
        is_active=True,
        membership__cancelled_at__isnull=True,
    ).order_by("email")


class MemberSearch(AutocompleteSelect):
    """The admin's autocomplete, which looks up the chosen value to show its name: a value from a hand-edited
    URL ("x", a 20-digit number) is shown as no choice instead of reaching the query as an id."""

    def optgroups(self, name, value, attr=None):
        ids = [item for item in value if str(item).isdigit() and len(str(item)) < 19]  # fits a bigint
        return super().optgroups(name, ids, attr)


class PreviewForm(forms.Form):
    """Which member a reminder rule is previewed for, in their language and with their price."""

    member = forms.ModelChoiceField(
        queryset=reminder_recipients(),
        label=_("Member"),
        help_text=_("Search by name or email."),
        error_messages={
            "invalid_choice": _(
                "This member has no current term, so no reminder applies: the member may not exist, "
                "their only terms may have been refunded or voided, or their membership may be cancelled."
            )
        },
    )

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin's own search (UserAdmin.search_fields), through the membership's user field it looks up.
        member = self.fields["member"]
        member.widget = MemberSearch(Membership._meta.get_field("user"), admin_site)
        member.widget.choices = member.choices  # what the field would have given the widget it was built with
