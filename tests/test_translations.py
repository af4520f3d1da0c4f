"""The translation catalogues stay complete: every string extracted, every entry translated and not fuzzy,
every placeholder kept. README.md ("Translating the portal") says how to fix what these tests report."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils.translation import to_locale

ROOT = Path(__file__).resolve().parents[1]
LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# What makemessages reads: the apps and templates, not the virtualenv, collected static files or tests.
MAKEMESSAGES_IGNORE = [".venv/*", "node_modules/*", "staticfiles/*", "tests/*", "bench/*"]
# Named placeholders of both styles: %(name)s (gettext) and {name} (str.format / blocktranslate is %(name)s).
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]?\d*(?:\.\d+)?[sdifrx]|(?<!\{)\{(\w*)\}(?!\})")
# A plural form may leave the number out ("one" / "two" forms say it in words).
COUNT_NAMES = {"count", "counter"}


def catalogue(locale: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po"))


def placeholders(text: str) -> set[str]:
    return {named or positional for named, positional in PLACEHOLDER.findall(text)}


def test_every_site_language_has_a_catalogue_and_no_other():
    on_disk = sorted(path.parent.parent.name for path in (ROOT / "locale").glob("*/LC_MESSAGES/django.po"))
    assert on_disk == sorted(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_has_no_untranslated_or_fuzzy_entry(locale):
    po = catalogue(locale)
    missing = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert (missing, fuzzy) == ([], []), f"{locale}: {len(missing)} untranslated, {len(fuzzy)} fuzzy"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders_of_their_source(locale):
    wrong = []
    for entry in catalogue(locale).translated_entries():
        if entry.msgid_plural:
            expected = placeholders(entry.msgid_plural)
            for form, text in entry.msgstr_plural.items():
                found = placeholders(text)
                if found != expected and found != expected - COUNT_NAMES:
                    wrong.append((entry.msgid, form, sorted(found)))
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            wrong.append((entry.msgid, None, sorted(placeholders(entry.msgstr))))
    assert wrong == []


def test_plural_entries_have_one_form_per_plural_of_the_language():
    wrong = []
    for locale in LOCALES:
        po = catalogue(locale)
        forms = int(re.search(r"nplurals\s*=\s*(\d+)", po.metadata["Plural-Forms"]).group(1))
        wrong += [(locale, e.msgid) for e in po if e.msgid_plural and len(e.msgstr_plural) != forms]
    assert wrong == []


@pytest.fixture(scope="module")
def extracted_msgids(tmp_path_factory) -> set[str]:
    """Run makemessages on a copy of the project (so the committed catalogues are not touched)."""
    copy = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "node_modules", "staticfiles", "media", "locale", "tests", "bench", "*.pyc"
        ),
    )
    (copy / "locale").mkdir()
    ignores = [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", LOCALES[0], "--verbosity", "0", *ignores],
        cwd=copy,
        check=True,
    )
    po = polib.pofile(str(copy / "locale" / LOCALES[0] / "LC_MESSAGES" / "django.po"))
    return {(entry.msgctxt, entry.msgid) for entry in po}


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_holds_exactly_the_strings_the_code_marks(locale, extracted_msgids):
    committed = {(entry.msgctxt, entry.msgid) for entry in catalogue(locale) if not entry.obsolete}
    not_extracted = sorted(msgid for _ctx, msgid in extracted_msgids - committed)
    stale = sorted(msgid for _ctx, msgid in committed - extracted_msgids)
    assert (not_extracted, stale) == ([], []), "run `make translations` (README: Translating the portal)"


@pytest.mark.parametrize("locale", LOCALES[:1])
def test_no_msgid_is_a_fragment(locale):
    # A msgid cut at an escaped quote ends in a backslash; one that is only punctuation and placeholders is a
    # piece of a sentence glued by concatenation, unless a context (pgettext) says what it joins.
    fragments = [
        entry.msgid
        for entry in catalogue(locale)
        if not entry.obsolete
        and (
            entry.msgid.endswith("\\")
            or (not entry.msgctxt and not re.sub(r"%\(\w+\)[sd]|\{\w+\}|[\W\d_]", "", entry.msgid))
        )
    ]
    assert fragments == []
