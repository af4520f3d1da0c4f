"""Every URL the project answers, as concrete paths filled with a given value, for the hostile-input crawl."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# Values a hostile input generator sends, already percent-encoded as they travel in a URL.
HOSTILE_VALUES = {
    "nul": "%00",
    "long": "x" * 5000,
    "bad-utf8": "%ff%fe",
    "negative": "-1",
    "huge": "99999999999999999999",
}

ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")


@dataclass(frozen=True)
class Pattern:
    """One URL pattern as a list of literal text and parameter names, e.g. ["news/", ("slug",), "/"]."""

    parts: tuple
    name: str

    @property
    def parameters(self) -> list[str]:
        return [part[0] for part in self.parts if isinstance(part, tuple)]

    def fill(self, values: dict[str, str], default: str) -> str:
        return "/" + "".join(part if isinstance(part, str) else values.get(part[0], default) for part in self.parts)


def _route_parts(route: str) -> list:
    parts, position = [], 0
    for match in ROUTE_PARAMETER.finditer(route):
        parts += [route[position : match.start()], (match["parameter"],)]
        position = match.end()
    return [*parts, route[position:]]


def _regex_parts(regex: str) -> list:
    """Literal text and groups of a regex such as the admin's ^(?P<app_label>auth|members)/$; a
    non-capturing part is dropped, which still gives a path the pattern (or its neighbour) answers."""
    regex = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    parts, literal, index = [], "", 0
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            literal += regex[index + 1]
            index += 2
        elif char == "(":
            depth, end = 1, index + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(regex[end], 0)
                end += 1
            group = re.match(r"\(\?P<(\w+)>", regex[index:end])
            if group or not regex.startswith("(?", index):
                # An unnamed group is positional: simple_history's ^([^/]+)/history/([^/]+)/$.
                unnamed = ("object_id", "history_id")[sum(isinstance(part, tuple) for part in parts) % 2]
                parts += [literal, (group[1] if group else unnamed,)]
                literal = ""
            index = end
        elif char in "?*+":
            index += 1
        else:
            literal += char
            index += 1
    return [*parts, literal]


def _parts(pattern) -> list:
    if isinstance(pattern, RoutePattern):
        return _route_parts(str(pattern._route))
    if isinstance(pattern, RegexPattern):
        return _regex_parts(pattern._regex)
    return [str(pattern)]


def all_patterns(resolver=None, prefix=()) -> list[Pattern]:
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        parts = (*prefix, *_parts(entry.pattern))
        if isinstance(entry, URLResolver):
            found += all_patterns(entry, parts)
        elif isinstance(entry, URLPattern):
            found.append(Pattern(tuple(part for part in parts if part != ""), entry.name or ""))
    return found
