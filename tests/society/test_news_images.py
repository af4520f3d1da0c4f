"""Article images: real JPEG/PNG/WebP content only, bounded size, generated names, alt text required."""

import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from PIL import Image

from society.models import NewsArticle
from society.validators import validate_news_image
from tests.factories import StaffFactory
from tests.society.factories import NewsArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def image_upload(name, image_format, size=(40, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 60, 90)).save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/whatever")


@pytest.mark.parametrize(("image_format", "extension"), [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_jpeg_png_and_webp_are_stored_under_a_generated_name(image_format, extension):
    article = NewsArticleFactory(image=image_upload("../../etc/My Photo.gif", image_format), image_alt="A lab bench")
    article.full_clean()
    assert re.fullmatch(rf"news/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\{extension}", article.image.name)
    assert (article.image_width, article.image_height) == (40, 30)


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("x.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        SimpleUploadedFile("x.jpg", b"GIF89a not really a jpeg"),
        SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n truncated"),
    ],
)
def test_files_that_are_not_jpeg_png_or_webp_are_refused_whatever_their_name(upload):
    with pytest.raises(ValidationError, match="Upload a JPEG, PNG or WebP image"):
        validate_news_image(upload)


def test_gif_is_refused_even_though_pillow_reads_it():
    with pytest.raises(ValidationError, match="Upload a JPEG, PNG or WebP image"):
        validate_news_image(image_upload("x.gif", "GIF"))


def test_images_over_the_upload_limit_are_refused(settings):
    assert settings.UPLOAD_MAX_BYTES == 5 * 1024 * 1024  # the documented default
    upload = image_upload("big.png", "PNG")
    upload.size = settings.UPLOAD_MAX_BYTES + 1
    with pytest.raises(ValidationError, match="larger than 5 MB"):
        validate_news_image(upload)


def test_alt_text_is_required_with_an_image_in_forms_and_in_the_database():
    article = NewsArticleFactory.build(image=image_upload("a.png", "PNG"), image_alt="", author=None)
    with pytest.raises(ValidationError) as error:
        article.full_clean(exclude=["author"])
    assert "image_alt" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        article.save()
    assert not NewsArticle.objects.exists()


def test_detail_page_shows_the_image_with_its_description_and_og_image(client):
    article = NewsArticleFactory(image=image_upload("a.png", "PNG"), image_alt="Researchers at the meeting")
    body = client.get(article.get_absolute_url()).content.decode()
    assert f'<img src="/media/{article.image.name}" alt="Researchers at the meeting" width="40" height="30">' in body
    assert f'<meta property="og:image" content="http://localhost:8000/media/{article.image.name}">' in body
    assert '<meta name="twitter:card" content="summary_large_image">' in body


def admin_add(client, upload, alt="A description"):
    from django.urls import reverse

    return client.post(
        reverse("admin:society_newsarticle_add"),
        {
            "title": "With a picture",
            "slug": "with-a-picture",
            "summary": "Summary.",
            "body": "Body.",
            "status": "draft",
            "audience": "public",
            "image": upload,
            "image_alt": alt,
        },
    )


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(is_superuser=True))
    return client


def test_admin_upload_of_a_real_image_is_stored(admin_client):
    response = admin_add(admin_client, image_upload("photo.jpeg", "JPEG"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert NewsArticle.objects.get().image.name.endswith(".jpg")


def test_admin_refuses_a_disguised_file_and_an_image_without_alt(admin_client):
    fake = SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", content_type="image/png")
    response = admin_add(admin_client, fake)
    assert response.status_code == 200
    assert "image" in response.context["adminform"].form.errors
    response = admin_add(admin_client, image_upload("photo.png", "PNG"), alt="")
    assert "Describe the image" in str(response.context["adminform"].form.errors)
    assert not NewsArticle.objects.exists()
