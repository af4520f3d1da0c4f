from django.conf import settings


def site(request):
    return {
        "SOCIETY_NAME": settings.SOCIETY_NAME,
        "SOCIETY_SHORT_NAME": settings.SOCIETY_SHORT_NAME,
        "SITE_URL": settings.SITE_URL,
    }
