"""Public reading views of the guidelines library (no login), plus the staff-only draft preview.

Each view loads the guideline's published editions once (GuidelineState) and derives current/superseded,
switchers and languages from that list; the provisions come from one more query, or from the cache.
"""

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.generic import ListView

from guidelines import selectors
from guidelines.caching import cached_fragment, conditional
from guidelines.citation import apa, bibtex
from guidelines.diff import compare_editions
from guidelines.exchange import edition_export
from guidelines.models import Edition, Guideline, Provision, ProvisionVersion
from society.access import has_staff_powers, staff_required


class GuidelineListView(ListView):
    template_name = "guidelines/guideline_list.html"
    context_object_name = "guidelines"

    def get_queryset(self):
        translations = Edition.objects.published().select_related("guideline").order_by("language", "pk")
        published = (
            Edition.objects.published()
            .originals()
            .order_by("-published_on", "-pk")
            .prefetch_related(Prefetch("translations", queryset=translations, to_attr="published_translations"))
        )
        return Guideline.objects.prefetch_related(
            Prefetch("editions", queryset=published, to_attr="published_editions")
        )


# The contents stop indenting here (the CSS has a class per level up to it), so a deep tree stays legible.
MAX_TOC_INDENT = 6


def _last_modified(state):
    dates = [edition.published_on for edition in state.editions if edition.published_on]
    return max(dates) if dates else None


def _citations(request, edition, version=None):
    if version is None:
        url = request.build_absolute_uri(edition.get_absolute_url())
    else:
        url = request.build_absolute_uri(_provision_url(edition, version.provision))
    return {"apa": apa(edition, url, version), "bibtex": bibtex(edition, url, version)}


def _provision_url(edition, provision):
    return reverse(
        "guidelines:provision",
        kwargs={"guideline": edition.guideline.slug, "edition": edition.slug, "provision": provision.slug},
    )


def _edition_body(request, state, edition, preview=False):
    """The table of contents and every provision of an edition (the cached part of the page)."""
    versions = selectors.edition_versions(edition)
    history = selectors.provision_history(state, edition)
    outdated = selectors.outdated_translations(edition, versions)
    # One reverse() per page instead of two per provision: with 300 provisions, reversing dominated the render.
    placeholder = "provision-slug-placeholder"
    permalink = reverse(
        "guidelines:provision",
        kwargs={"guideline": state.guideline.slug, "edition": edition.slug, "provision": placeholder},
    )
    timeline = reverse(
        "guidelines:provision-history", kwargs={"guideline": state.guideline.slug, "provision": placeholder}
    )
    # Plain dicts with every value ready, so the template's 300-fold loop does lookups only: on model instances
    # each lookup first tried obj[name] and caught the TypeError, and two {% blocktranslate %} per provision
    # cost as much again (together half the render).
    rows = []
    for version, depth in zip(versions, selectors.outline_depths(versions), strict=True):
        slug, number = version.provision.slug, version.number
        # h2 for the top level; past h6 HTML has no element, so a div takes the heading role and level.
        level = 2 + depth
        rows.append(
            {
                "anchor": version.anchor,
                "number": number,
                "heading": version.heading,
                "display_heading": version.display_heading,
                "kind": version.kind,
                "body_html": version.body_html,
                "permalink": permalink.replace(placeholder, slug),
                "permalink_hint": _("to %(number)s") % {"number": number},
                "timeline_url": timeline.replace(placeholder, slug),
                "timeline_hint": _("of %(number)s") % {"number": number},
                "history_tag": history.get(version.provision_id, ""),
                "is_outdated": version.provision_id in outdated,
                "toc_indent": min(depth, MAX_TOC_INDENT),
                "level": level,
                "heading_tag": f"h{level}" if level <= 6 else "div",
            }
        )
    return render_to_string(
        "includes/_edition_body.html",
        {"edition": edition, "guideline": state.guideline, "versions": rows, "preview": preview},
        request=request,
    )


@require_GET
def edition_detail(request, guideline, edition=None):
    state = selectors.guideline_state(guideline)
    if edition is None:
        shown = state.current
        if shown is None:
            raise Http404(_("This guideline has no published edition yet."))
    else:
        shown = selectors.published_edition(state, edition)
    key = f"edition:{shown.pk}:{state.fingerprint}"

    def respond():
        body = cached_fragment(key + f":{request.LANGUAGE_CODE}", lambda: _edition_body(request, state, shown))
        return render(request, "guidelines/edition_detail.html", _edition_context(request, state, shown, body))

    return conditional(request, key, _last_modified(state), respond)


def _edition_context(request, state, edition, body, preview=False):
    current = state.current_for(edition)
    return {
        "guideline": state.guideline,
        "edition": edition,
        "state": state,
        "current": current,
        "is_current": not preview and current is not None and current.pk == edition.pk,
        "is_superseded": state.is_superseded(edition),
        # A translation's changes are its original's: compare the originals, never two languages.
        "previous": None if edition.is_translation else state.previous_of(edition),
        "original": state.source_of(edition) if edition.is_translation else None,
        "languages": state.languages_of(edition) if edition.is_published else [],
        "body": body,
        "preview": preview,
        "citation": _citations(request, edition),
        "canonical": request.build_absolute_uri(edition.get_absolute_url()),
    }


@staff_required
@require_GET
def edition_preview(request, guideline, edition):
    """A draft in the public layout, for editors, with a link to compare it with the current edition."""
    state = selectors.guideline_state(guideline)
    draft = get_object_or_404(
        Edition.objects.select_related("guideline", "translation_of"), guideline=state.guideline, slug=edition
    )
    body = _edition_body(request, state, draft, preview=True)
    return render(
        request, "guidelines/edition_detail.html", _edition_context(request, state, draft, body, preview=True)
    )


@require_GET
def edition_json(request, guideline, edition):
    state = selectors.guideline_state(guideline)
    shown = selectors.published_edition(state, edition)
    return conditional(
        request,
        f"json:{shown.pk}",
        shown.published_on,
        lambda: JsonResponse(edition_export(edition=shown), json_dumps_params={"ensure_ascii": False, "indent": 2}),
    )


@require_GET
def provision_detail(request, guideline, edition, provision):
    state = selectors.guideline_state(guideline)
    shown = selectors.published_edition(state, edition)
    version = get_object_or_404(
        ProvisionVersion.objects.select_related("provision", "parent"), edition=shown, provision__slug=provision
    )
    key = f"provision:{version.pk}:{state.fingerprint}"

    def respond():
        timeline, versions_by_edition = selectors.provision_timeline(state, version.provision)
        history = selectors.provision_history(state, shown, provision_ids=[version.provision_id])
        switcher = [
            {"edition": other, "version": versions_by_edition.get(other.pk)}
            for other in state.editions
            if other.language == shown.language or other.pk == shown.pk
        ]
        current = state.current_for(shown)
        current_version = versions_by_edition.get(current.pk) if current else None
        context = {
            "guideline": state.guideline,
            "edition": shown,
            "version": version,
            "provision": version.provision,
            "history_tag": history.get(version.provision_id, ""),
            "timeline": timeline,
            "switcher": switcher,
            "current": current,
            "current_version": current_version,
            "is_superseded": state.is_superseded(shown),
            "citation": _citations(request, shown, version),
            "canonical": request.build_absolute_uri(_provision_url(shown, version.provision)),
        }
        return render(request, "guidelines/provision_detail.html", context)

    return conditional(request, key, _last_modified(state), respond)


@require_GET
def provision_current(request, guideline, provision):
    """The permanent "current text of this provision" link: a redirect, or why there is no current text."""
    state = selectors.guideline_state(guideline)
    target = get_object_or_404(Provision, guideline=state.guideline, slug=provision)
    current = state.current
    timeline, versions_by_edition = selectors.provision_timeline(state, target)
    if current is not None and current.pk in versions_by_edition:
        return redirect(_provision_url(current, target))
    last_seen = next((entry for entry in reversed(timeline) if entry["version"] is not None), None)
    removed_in = next((entry["edition"] for entry in reversed(timeline) if entry["version"] is None), None)
    context = {
        "guideline": state.guideline,
        "provision": target,
        "current": current,
        "last_seen": last_seen,
        "removed_in": removed_in,
        "timeline": timeline,
    }
    # 410 Gone tells crawlers the provision was withdrawn on purpose; people get the explanation.
    return render(request, "guidelines/provision_removed.html", context, status=410)


@require_GET
def provision_history(request, guideline, provision):
    state = selectors.guideline_state(guideline)
    target = get_object_or_404(Provision, guideline=state.guideline, slug=provision)
    timeline, _versions = selectors.provision_timeline(state, target)
    if not timeline:
        raise Http404(_("This provision is not in any published edition."))
    latest = next(entry["version"] for entry in reversed(timeline) if entry["version"] is not None)
    return render(
        request,
        "guidelines/provision_history.html",
        {
            "guideline": state.guideline,
            "provision": target,
            "timeline": timeline,
            "latest": latest,
            "current": state.current,
        },
    )


def _comparable_edition(request, state, slug):
    edition = state.get(slug)
    if edition is None and has_staff_powers(request):
        edition = Edition.objects.filter(guideline=state.guideline, slug=slug).first()
    if edition is None:
        raise Http404(_("No edition “%(slug)s” to compare.") % {"slug": slug})
    return edition


def _compare_response(request, state, old, new, *, what_changed=False, provision=None):
    published = old.is_published and new.is_published
    key = f"compare:{old.pk}:{new.pk}:{provision or ''}:{what_changed}:{state.fingerprint}"

    def body():
        versions = ProvisionVersion.objects.filter(edition__in=[old.pk, new.pk]).select_related("provision", "parent")
        if provision:
            versions = versions.filter(provision__slug=provision)
        versions = list(versions.in_reading_order())
        old_versions = [v for v in versions if v.edition_id == old.pk]
        new_versions = [v for v in versions if v.edition_id == new.pk]
        if provision and not versions:
            raise Http404(_("This provision is in neither edition."))
        comparison = compare_editions(old, new, old_versions, new_versions)
        return render_to_string(
            "includes/_comparison.html",
            {"comparison": comparison, "guideline": state.guideline, "single": bool(provision)},
            request=request,
        )

    def respond():
        html = cached_fragment(key + f":{request.LANGUAGE_CODE}", body) if published else body()
        context = {
            "guideline": state.guideline,
            "old": old,
            "new": new,
            "body": html,
            "what_changed": what_changed,
            "provision_slug": provision,
            "editions": [e for e in state.editions if e.language == new.language],
        }
        return render(request, "guidelines/compare.html", context)

    if not published:
        return respond()
    return conditional(request, key, _last_modified(state), respond)


@require_GET
def compare(request, guideline, old, new, provision=None):
    state = selectors.guideline_state(guideline)
    old_edition = _comparable_edition(request, state, old)
    new_edition = _comparable_edition(request, state, new)
    return _compare_response(request, state, old_edition, new_edition, provision=provision)


@require_GET
def compare_choose(request, guideline):
    """The compare form's GET target: turns ?old=&new= into the compare URL (works without JavaScript)."""
    state = selectors.guideline_state(guideline)
    current = state.current
    old = state.get(request.GET.get("old", "")) or (state.previous_of(current) if current else None)
    new = state.get(request.GET.get("new", "")) or current
    if old is None or new is None:
        raise Http404(_("This guideline has fewer than two published editions."))
    return redirect("guidelines:compare", guideline=guideline, old=old.slug, new=new.slug)


@require_GET
def what_changed(request, guideline, edition):
    state = selectors.guideline_state(guideline)
    shown = selectors.published_edition(state, edition)
    if shown.is_translation:
        return redirect("guidelines:what-changed", guideline=guideline, edition=state.source_of(shown).slug)
    previous = state.previous_of(shown)
    if previous is None:
        return render(request, "guidelines/first_edition.html", {"guideline": state.guideline, "edition": shown})
    return _compare_response(request, state, previous, shown, what_changed=True)


@require_GET
def search(request):
    # NUL cannot travel to Postgres in a string literal; nothing a reader types needs it.
    query = request.GET.get("q", "").replace("\x00", "").strip()
    all_editions = request.GET.get("editions") == "all"
    languages = dict(settings.LANGUAGES)
    language = request.GET.get("language", "")
    if language not in languages:
        language = selectors.default_search_language(request.LANGUAGE_CODE)
    results, too_long = [], len(query) > selectors.MAX_QUERY_CHARS
    if query:
        results = selectors.search_provisions(query, language=language, all_editions=all_editions)
    return render(
        request,
        "guidelines/search.html",
        {
            "query": query,
            "results": results,
            "all_editions": all_editions,
            "too_long": too_long,
            "search_language": language,
            "search_languages": settings.LANGUAGES,
        },
    )
