"""Reading the site's sitemaps as a crawler does: the index at /sitemap.xml, then every section and page."""

import xml.etree.ElementTree as ET

SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap_locations(client, index_url="/sitemap.xml"):
    """The sitemap URLs the index lists (absolute, as crawlers see them)."""
    response = client.get(index_url)
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    return [entry.findtext("s:loc", namespaces=SITEMAP_NS) for entry in root.findall("s:sitemap", SITEMAP_NS)]


def sitemap_entries(client):
    """Every <url> of every sitemap the index lists, by location."""
    entries = {}
    for location in sitemap_locations(client):
        response = client.get(location)
        assert response.status_code == 200, location
        root = ET.fromstring(response.content)
        for url in root.findall("s:url", SITEMAP_NS):
            entries[url.findtext("s:loc", namespaces=SITEMAP_NS)] = url
    return entries


def sitemap_text(client):
    """Every sitemap the index lists, concatenated: for tests that look for a location in the raw XML."""
    return "\n".join(client.get(location).content.decode() for location in sitemap_locations(client))
