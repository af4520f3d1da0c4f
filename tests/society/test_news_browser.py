import pytest

from tests.factories import TermFactory, UserFactory
from tests.society.factories import NewsArticleFactory, PageFactory, TopicFactory

pytestmark = pytest.mark.browser

BODY = """## What changed

The guidelines now cover **embryo models**. Read the [full text](/guidelines/).

- First point
- Second point

| Section | Change |
|---|---|
| 3.1 | New |
"""


@pytest.fixture
def news(db):
    topic = TopicFactory(name="Guidelines", slug="guidelines")
    articles = [
        NewsArticleFactory(title=f"Announcement {index}", body=BODY, topics=[topic], pinned=index == 0)
        for index in range(12)
    ]
    NewsArticleFactory(title="Board minutes", slug="board-minutes", members_only=True, topics=[topic])
    # Figures on the home page need members with access.
    for country in ["DE", "JP"]:
        TermFactory(membership__user=UserFactory(country=country))
    return articles


@pytest.mark.parametrize(
    "path", ["/", "/news/", "/news/?topic=guidelines", "/news/article-detail/", "/news/board-minutes/", "/about/"]
)
def test_news_pages_have_no_accessibility_violations(page, axe, news, path):
    NewsArticleFactory(slug="article-detail", title="The detail page", body=BODY)
    PageFactory(slug="about", title="About the society", body=BODY)
    page.goto(path)
    assert page.locator("h1").count() == 1
    axe(page)


def test_members_only_prompt_leads_to_log_in_and_back(page, news):
    page.goto("/news/board-minutes/")
    assert page.get_by_role("heading", name="This article is for members").is_visible()
    page.get_by_role("link", name="Log in").last.click()
    assert "/accounts/login/?next=/news/board-minutes/" in page.url


def test_topic_filter_and_pagination_work_by_link(page, news):
    page.goto("/")
    assert page.locator(".home-figures").inner_text().startswith("2 members in 2 countries")
    page.get_by_role("link", name="All news").click()
    assert page.locator(".news-card").count() == 10
    page.get_by_role("link", name="Older").click()
    assert page.locator(".news-card").count() == 3
    page.locator(".topic-filter").get_by_role("link", name="Guidelines").click()
    assert page.get_by_role("heading", level=1).inner_text() == "News about Guidelines"
