"""Comparing two editions provision by provision, matched by identity, with a word-level redline.

Matching by provision identity (not by number or heading) is what lets a renumbered or moved provision be
compared with its counterpart instead of showing up as one removal and one addition.
"""

import re
from dataclasses import dataclass, field

from diff_match_patch import diff_match_patch
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from guidelines.models import ProvisionVersion

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)

ADDED, REMOVED, CHANGED, MOVED, UNCHANGED = "added", "removed", "changed", "moved", "unchanged"
GROUP_ORDER = (CHANGED, ADDED, REMOVED, MOVED, UNCHANGED)


def _encode_words(old: str, new: str):
    """Map every word, space run and punctuation mark to one character, so diff-match-patch diffs words."""
    table: dict[str, str] = {}
    tokens: list[str] = []

    def encode(text):
        chars = []
        for token in _TOKEN.findall(text):
            if token not in table:
                tokens.append(token)
                # Skip the surrogate range, which cannot appear in a Python str used by the differ.
                code = len(tokens) + 0x100
                table[token] = chr(code if code < 0xD800 else code + 0x800)
            chars.append(table[token])
        return "".join(chars)

    return encode(old), encode(new), {char: token for token, char in table.items()}


def word_diff(old: str, new: str) -> list[tuple[int, str]]:
    """(operation, text) pairs: -1 deleted, 0 kept, 1 inserted; grouped by whole words, semantically cleaned."""
    old_chars, new_chars, decode = _encode_words(old or "", new or "")
    differ = diff_match_patch()
    differ.Diff_Timeout = 2.0
    diffs = differ.diff_main(old_chars, new_chars, checklines=False)
    differ.diff_cleanupSemantic(diffs)
    return [(op, "".join(decode[char] for char in chars)) for op, chars in diffs]


def redline(old: str, new: str):
    """Inline redline HTML: <del>/<ins> carry visually hidden words so screen readers announce them, and
    the CSS marks them by strike-through and underline as well as colour."""
    templates = {
        -1: (
            '<del><span class="visually-hidden">[{} </span>{}<span class="visually-hidden">]</span></del>',
            _("deleted:"),
        ),
        1: (
            '<ins><span class="visually-hidden">[{} </span>{}<span class="visually-hidden">]</span></ins>',
            _("inserted:"),
        ),
    }
    parts = []
    for op, text in word_diff(old, new):
        if op == 0:
            parts.append(escape(text))
        else:
            template, label = templates[op]
            parts.append(format_html(template, label, text))
    return mark_safe("".join(parts))  # every part is escaped or built by format_html


@dataclass
class ProvisionChange:
    status: str
    old: ProvisionVersion | None
    new: ProvisionVersion | None
    renumbered: bool = False
    moved: bool = False
    heading_redline: str = ""
    body_redline: str = ""

    @property
    def version(self):
        return self.new or self.old

    @property
    def provision(self):
        return self.version.provision


@dataclass
class Comparison:
    old_edition: object
    new_edition: object
    changes: list[ProvisionChange] = field(default_factory=list)

    def group(self, status):
        return [change for change in self.changes if change.status == status]

    @property
    def groups(self):
        labels = {
            CHANGED: _("Changed"),
            ADDED: _("Added"),
            REMOVED: _("Removed"),
            MOVED: _("Moved or renumbered"),
            UNCHANGED: _("Unchanged"),
        }
        return [(status, labels[status], self.group(status)) for status in GROUP_ORDER]

    @property
    def counts(self):
        return {status: len(self.group(status)) for status in GROUP_ORDER}

    @property
    def has_changes(self):
        return any(change.status != UNCHANGED for change in self.changes)


def compare_versions(old: ProvisionVersion | None, new: ProvisionVersion | None, *, with_redline=True):
    if old is None:
        return ProvisionChange(ADDED, None, new)
    if new is None:
        return ProvisionChange(REMOVED, old, None)
    renumbered = old.number != new.number
    moved = old.parent_id != new.parent_id
    if old.content_hash != new.content_hash:
        change = ProvisionChange(CHANGED, old, new, renumbered=renumbered, moved=moved)
        if with_redline:
            # Empty when neither has a heading, and the page names the provision by its first words instead.
            change.heading_redline = redline(old.heading.strip(), new.heading.strip())
            change.body_redline = redline(old.body_text, new.body_text)
        return change
    return ProvisionChange(MOVED if (renumbered or moved) else UNCHANGED, old, new, renumbered=renumbered, moved=moved)


def compare_editions(old_edition, new_edition, old_versions, new_versions, *, with_redline=True) -> Comparison:
    """Pair versions by provision; the new edition's reading order first, then removals in the old order.

    Without the redline (feeds and webhooks list what changed, not how) the versions need no text loaded."""
    old_by_provision = {version.provision_id: version for version in old_versions}
    new_ids = set()
    comparison = Comparison(old_edition, new_edition)
    for version in new_versions:
        new_ids.add(version.provision_id)
        old = old_by_provision.get(version.provision_id)
        comparison.changes.append(compare_versions(old, version, with_redline=with_redline))
    for version in old_versions:
        if version.provision_id not in new_ids:
            comparison.changes.append(compare_versions(version, None, with_redline=with_redline))
    return comparison


# Mail clients drop style sheets, so the email redline carries its marks inline, and by strike-through and
# underline as well as colour (both colour pairs meet WCAG AA contrast).
_EMAIL_DEL = '<del style="background-color:#fde2e1;color:#7f1d1d;text-decoration:line-through">{}</del>'
_EMAIL_INS = '<ins style="background-color:#dcfce7;color:#14532d;text-decoration:underline">{}</ins>'


# In an email, unchanged text between changes is cut to this many words on either side: a whole provision
# around a changed word would make the email of a large revision too long to read (or to deliver: Gmail clips
# messages past 102 KB). The provision's link leads to the full text.
EMAIL_CONTEXT_WORDS = 12
_WORD_OR_GAP = re.compile(r"\S+|\s+")


def _trimmed(diffs):
    """word_diff's pairs with every long unchanged run cut to its ends (its start or end alone at the edges)."""
    for position, (op, text) in enumerate(diffs):
        if op != 0:
            yield op, text
            continue
        tokens = _WORD_OR_GAP.findall(text)
        keep = EMAIL_CONTEXT_WORDS * 2  # words and the spaces between them
        if len(tokens) <= keep * 2 + 1:
            yield 0, text
            continue
        head = "".join(tokens[:keep]).rstrip() if position > 0 else ""
        tail = "".join(tokens[-keep:]).lstrip() if position < len(diffs) - 1 else ""
        yield 0, " … ".join(part for part in (head, tail) if part) if head and tail else f"{head} … {tail}".strip()


def redline_email_html(old: str, new: str):
    parts = []
    for op, text in _trimmed(word_diff(old, new)):
        parts.append(escape(text) if op == 0 else format_html(_EMAIL_DEL if op < 0 else _EMAIL_INS, text))
    return mark_safe("".join(parts))  # every part is escaped or built by format_html


def redline_text(old: str, new: str) -> str:
    """The redline for a plain-text email, in the marks of `git diff --word-diff`: [-deleted-]{+inserted+}."""
    marks = {-1: "[-{}-]", 0: "{}", 1: "{{+{}+}}"}
    return "".join(marks[op].format(text) for op, text in _trimmed(word_diff(old, new)))
