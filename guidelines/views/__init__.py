from .reading import (
    GuidelineListView,
    compare,
    compare_choose,
    edition_detail,
    edition_json,
    edition_preview,
    provision_current,
    provision_detail,
    provision_history,
    search,
    what_changed,
)

__all__ = [
    "GuidelineListView",
    "compare",
    "compare_choose",
    "edition_detail",
    "edition_json",
    "edition_preview",
    "provision_current",
    "provision_detail",
    "provision_history",
    "search",
    "what_changed",
]
