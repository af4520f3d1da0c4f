from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from members.models import Announcement, AnnouncementStatus, IncomeBand, MembershipStatus
from members.services import announcements as service
from society.admin.base import BoundedChangeListMixin


class AnnouncementForm(forms.ModelForm):
    statuses = forms.MultipleChoiceField(
        label=_("Membership statuses"),
        choices=MembershipStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    bands = forms.MultipleChoiceField(
        label=_("Income bands"), choices=IncomeBand.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=Announcement._meta.get_field("languages").base_field.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Announcement
        fields = [
            "subject",
            "body",
            "news_article",
            "statuses",
            "membership_types",
            "bands",
            "countries",
            "languages",
            "joined_after",
            "joined_before",
            "auto_renew",
        ]
        widgets = {"membership_types": forms.CheckboxSelectMultiple}

    def clean(self):
        data = super().clean()
        after, before = data.get("joined_after"), data.get("joined_before")
        if after and before and after >= before:
            raise ValidationError(_("“Joined before” must be later than “joined on or after”."))
        return data


class ScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        label=_("Send at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


@admin.register(Announcement)
class AnnouncementAdmin(BoundedChangeListMixin, admin.ModelAdmin):
    form = AnnouncementForm
    list_display = ["subject", "status", "send_at", "queued_at", "created_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["subject"]
    date_hierarchy = "created_at"
    change_form_template = "admin/members/announcement/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # Once scheduled, what members receive (and who) is fixed: the queued rows were rendered from it.
        if obj is not None and obj.status != AnnouncementStatus.DRAFT:
            return [*AnnouncementForm.Meta.fields, "status", "send_at", "queued_at"]
        return []

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        send = self.admin_site.admin_view(self.send_view)
        return [path("<int:pk>/send/", send, name="members_announcement_send"), *super().get_urls()]

    def send_view(self, request, pk):
        """Count, preview for a sample member, test to oneself, send now or schedule; the report after."""
        announcement = get_object_or_404(Announcement.objects.select_related("news_article"), pk=pk)
        if not self.has_change_permission(request, announcement):
            return redirect("admin:members_announcement_changelist")
        form = ScheduleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            action = request.POST.get("action")
            try:
                if action == "test":
                    service.announcement_send_test(announcement=announcement, to=request.user)
                    self.message_user(request, _("A test was sent to %(email)s.") % {"email": request.user.email})
                elif action == "now":
                    service.announcement_schedule(announcement_id=announcement.pk)
                    self.message_user(request, _("The announcement is being sent."))
                elif action == "schedule" and form.cleaned_data["send_at"]:
                    service.announcement_schedule(announcement_id=announcement.pk, send_at=form.cleaned_data["send_at"])
                    self.message_user(request, _("The announcement is scheduled."))
                elif action == "unschedule":
                    service.announcement_unschedule(announcement_id=announcement.pk)
                    self.message_user(request, _("The announcement is a draft again."))
                else:
                    form.add_error("send_at", _("Choose when to send it."))
            except ValidationError as error:
                form.add_error(None, error)
            if not form.errors:
                return redirect("admin:members_announcement_send", announcement.pk)
        sample = service.segment_sample(announcement=announcement)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview and send"),
            "opts": self.model._meta,
            "announcement": announcement,
            "form": form,
            "count": service.segment_count(announcement=announcement),
            "sample": sample,
            "preview": service.announcement_render(announcement=announcement, user=sample) if sample else None,
            "report": service.announcement_report(announcement=announcement),
        }
        return TemplateResponse(request, "admin/members/announcement/send.html", context)
