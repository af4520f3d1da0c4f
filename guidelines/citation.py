"""Citations of an edition or one provision in it: APA (7th edition style) and BibTeX, as plain text."""

import re

from django.conf import settings
from django.utils.translation import gettext as _


def _year(edition):
    return str(edition.published_on.year) if edition.published_on else _("n.d.")


def apa(edition, url, version=None):
    author = settings.SOCIETY_NAME
    title = edition.guideline.title
    if version is not None:
        title = f"{title}, {version.numbered_heading}"
    doi = f"https://doi.org/{edition.doi}" if edition.doi else url
    return f"{author}. ({_year(edition)}). {title} ({edition.label}). {author}. {doi}"


def _bibtex_escape(text):
    return re.sub(r"([{}\\&%$#_])", r"\\\1", str(text))


def bibtex(edition, url, version=None):
    key = re.sub(r"[^a-z0-9]+", "", f"{edition.guideline.slug}{edition.slug}".lower())
    if version is not None:
        key += re.sub(r"[^a-z0-9]+", "", version.number.lower())
    title = edition.guideline.title
    if version is not None:
        title = f"{title}, {version.numbered_heading}"
    fields = [
        ("title", title),
        ("author", "{" + _bibtex_escape(settings.SOCIETY_NAME) + "}"),
        ("institution", settings.SOCIETY_NAME),
        ("edition", _bibtex_escape(edition.label)),
        ("year", _year(edition)),
        ("url", url),
    ]
    if edition.published_on:
        fields.append(("date", edition.published_on.isoformat()))
    if edition.doi:
        fields.append(("doi", edition.doi))
    lines = [f"@techreport{{{key},"]
    for name, value in fields:
        escaped = value if name in ("url", "doi", "author") else _bibtex_escape(value)
        lines.append(f"  {name} = {{{escaped}}},")
    lines.append("}")
    return "\n".join(lines)
