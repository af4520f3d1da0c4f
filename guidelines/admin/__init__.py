"""Admin for Editors: drafts are edited inline; published editions are read-only here, in the services and
in the database. Actions and saves go through the same services as everything else."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from guidelines.exchange import edition_file_read, edition_import
from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from guidelines.selectors import translations_freshness
from guidelines.services import (
    edition_assert_editable,
    edition_publish,
    edition_start_from,
    provision_create,
    provision_version_save,
)
from society.admin.base import HistoryAdmin
from society.validators import upload_limit_megabytes, validate_upload_size


@admin.register(Guideline)
class GuidelineAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "order"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]


@admin.register(Provision)
class ProvisionAdmin(admin.ModelAdmin):
    list_display = ["slug", "uid", "guideline"]
    list_filter = ["guideline"]
    list_select_related = ["guideline"]
    search_fields = ["slug", "uid", "versions__number", "versions__heading"]

    def has_delete_permission(self, request, obj=None):
        return False  # provisions are identities cited from published editions; never deleted


class LoadedAutocompleteSelect(AutocompleteSelect):
    """Shows the selected provision from the row's own instance (select_related by the inline), where
    Django's widget asks the database once per field of every row: 600 queries for 300 provisions."""

    loaded = None

    def optgroups(self, name, value, attr=None):
        if self.loaded is None or [str(v) for v in value if v] != [str(self.loaded.pk)]:
            return super().optgroups(name, value, attr)
        options = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        label = self.choices.field.label_from_instance(self.loaded)
        options.append(self.create_option(name, self.loaded.pk, label, {str(self.loaded.pk)}, len(options)))
        return [(None, options, 0)]


class ProvisionVersionForm(forms.ModelForm):
    class Meta:
        model = ProvisionVersion
        fields = ["number", "heading", "kind", "provision", "parent", "order", "body", "change_note"]
        widgets = {"body": forms.Textarea(attrs={"rows": 5, "cols": 80})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provision"].required = False
        self.fields["provision"].help_text = _("Leave empty to add a new provision.")
        for name in ("provision", "parent"):
            widget = getattr(self.fields[name].widget, "widget", None)  # inside the admin's related wrapper
            if isinstance(widget, LoadedAutocompleteSelect) and getattr(self.instance, f"{name}_id"):
                widget.loaded = getattr(self.instance, name)


class ProvisionVersionInline(admin.StackedInline):
    model = ProvisionVersion
    form = ProvisionVersionForm
    fk_name = "edition"
    extra = 0
    autocomplete_fields = ["provision", "parent"]
    classes = ["collapse"]

    def _editable(self, obj):
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provision", "parent")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = LoadedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Edition JSON file"), validators=[validate_upload_size])
    guideline = forms.ModelChoiceField(
        Guideline.objects.all(), required=False, to_field_name="slug", help_text=_("Defaults to the file's guideline.")
    )
    publish = forms.BooleanField(required=False, label=_("Publish it after importing"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("At most %(limit)s MB.") % {"limit": upload_limit_megabytes()}


@admin.register(Edition)
class EditionAdmin(HistoryAdmin):
    list_display = ["label", "guideline", "kind", "status", "published_on", "language", "provision_count"]
    list_filter = ["status", "guideline", "kind", "language"]
    list_select_related = ["guideline"]
    search_fields = ["label", "slug", "guideline__title"]
    readonly_fields = ["status", "published_on", "reader_links"]
    fields = [
        "guideline",
        "label",
        "slug",
        "kind",
        "language",
        "translation_of",
        "effective_on",
        "doi",
        "change_summary",
        "status",
        "published_on",
        "reader_links",
    ]
    inlines = [ProvisionVersionInline]
    actions = ["start_new_edition", "publish"]
    change_list_template = "admin/guidelines/edition/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(version_count=Count("versions"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "translation_of":  # each option's label, str(edition), names its guideline
            kwargs["queryset"] = Edition.objects.select_related("guideline")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("provisions"), ordering="version_count")
    def provision_count(self, obj):
        return obj.version_count

    @admin.display(description=_("Read"))
    def reader_links(self, obj):
        if obj.pk is None:
            return "—"
        if obj.is_published:
            return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), _("Public page"))
        preview = reverse("guidelines:preview", kwargs={"guideline": obj.guideline.slug, "edition": obj.slug})
        return format_html('<a href="{}">{}</a>', preview, _("Preview this draft"))

    def view_on_site(self, obj):
        if obj.is_published:
            return obj.get_absolute_url()
        return reverse("guidelines:preview", kwargs={"guideline": obj.guideline.slug, "edition": obj.slug})

    def has_change_permission(self, request, obj=None):
        # A published edition opens as a read-only view page.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            edition_assert_editable(edition=obj)
        except ValidationError as error:
            raise PermissionDenied(error.messages[0]) from error
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        edition = form.instance
        versions = formset.save(commit=False)
        for version in versions:
            if not version.provision_id:
                version.provision = provision_create(
                    guideline=edition.guideline, slug=version.heading or version.number
                )
            version.edition = edition
            provision_version_save(version=version)
        for version in formset.deleted_objects:
            edition_assert_editable(edition=edition)
            version.delete()

    @admin.action(description=_("Start a new edition from this one"))
    def start_new_edition(self, request, queryset):
        for edition in queryset.select_related("guideline"):
            draft = edition_start_from(edition=edition)
            self.message_user(request, _("Started the draft “%(draft)s”.") % {"draft": draft.label}, messages.SUCCESS)
        if queryset.count() == 1:
            return redirect(reverse("admin:guidelines_edition_change", args=[draft.pk]))
        return None

    @admin.action(description=_("Publish"))
    def publish(self, request, queryset):
        published = 0
        for edition in queryset:
            try:
                edition_publish(edition=edition)
                published += 1
            except ValidationError as error:
                for message in error.messages:
                    self.message_user(
                        request,
                        pgettext("a row and why it was refused", "%(edition)s: %(problem)s")
                        % {"edition": edition.label, "problem": message},
                        messages.ERROR,
                    )
        if published:
            self.message_user(
                request,
                ngettext("Published %(count)d edition.", "Published %(count)d editions.", published)
                % {"count": published},
                messages.SUCCESS,
            )

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="guidelines_edition_import"),
            path(
                "translations/",
                self.admin_site.admin_view(self.translations_view),
                name="guidelines_edition_translations",
            ),
            *super().get_urls(),
        ]

    def translations_view(self, request):
        """For editors: per translated edition, which provisions were translated from an older source text."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Translations out of date"),
            "editions": translations_freshness(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/guidelines/edition/translations.html", context)

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            try:
                data = edition_file_read(form.cleaned_data["file"].read())
                guideline = form.cleaned_data["guideline"]
                edition = edition_import(
                    data=data, guideline_slug=guideline.slug if guideline else "", publish=form.cleaned_data["publish"]
                )
            except ValidationError as error:
                problems = error.messages
            else:
                self.message_user(request, _("Imported “%(edition)s”.") % {"edition": edition}, messages.SUCCESS)
                return redirect(reverse("admin:guidelines_edition_change", args=[edition.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import an edition"),
            "form": form,
            "problems": problems,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/guidelines/edition/import.html", context)


# Webhook endpoints and their delivery log, and readers' alert subscriptions, register themselves on import.
from guidelines.admin import alerts, webhooks  # noqa: E402, F401
