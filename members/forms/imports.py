from django import forms
from django.utils.translation import gettext_lazy as _

from society.validators import upload_limit_megabytes, validate_upload_size


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), validators=[validate_upload_size])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("UTF-8, with a header row; at most %(limit)s MB.") % {
            "limit": upload_limit_megabytes()
        }
