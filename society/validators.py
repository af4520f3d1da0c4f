"""Checks on files staff upload. The file's content decides, not its name or the browser's content type."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

MAX_IMAGE_PIXELS = 40_000_000
# Pillow's format name -> the extension the stored file gets.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}

MESSAGE_FILE_TOO_LARGE = _("The file is larger than %(limit)s MB; please upload a smaller one.")
MESSAGE_IMAGE_TYPE = _("Upload a JPEG, PNG or WebP image.")
MESSAGE_IMAGE_DIMENSIONS = _("The image has too many pixels; please resize it to at most 40 megapixels.")


def upload_limit_megabytes() -> str:
    return f"{settings.UPLOAD_MAX_BYTES / 1024 / 1024:.3g}"


def validate_upload_size(file) -> None:
    """Refuse any uploaded file above settings.UPLOAD_MAX_BYTES, before anything reads its content."""
    if file.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(MESSAGE_FILE_TOO_LARGE, code="file_too_large", params={"limit": upload_limit_megabytes()})


def image_format(file) -> str | None:
    """The Pillow format name of an uploaded file, or None when it is not an image Pillow can read."""
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        with Image.open(file) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValidationError(MESSAGE_IMAGE_DIMENSIONS, code="image_dimensions")
            image_format_name = image.format
            image.verify()
        return image_format_name
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        return None
    finally:
        file.seek(position)


def validate_news_image(file) -> None:
    if getattr(file, "_committed", False):
        # Already stored, so checked when it was uploaded; re-reading it from storage on every save buys nothing.
        return
    validate_upload_size(file)
    if image_format(file) not in IMAGE_FORMATS:
        raise ValidationError(MESSAGE_IMAGE_TYPE, code="image_type")


def news_image_upload_to(instance, filename: str) -> str:
    """A generated name, its extension taken from the content: uploads never overwrite each other and never
    carry a path or a name someone typed."""
    suffix = IMAGE_FORMATS.get(image_format(instance.image.file), "")
    return f"news/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"
