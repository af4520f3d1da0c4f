"""Time the public pages through Django's full request stack (middleware, templates, DB).

Usage: python bench/pages.py [requests-per-page]
Prints requests per second and p50/p99 latency per page. Needs `make bootstrap` and a migrated database.
"""

import sys
import time

import _harness

_harness.setup_django()


from django.test import Client  # noqa: E402

PAGES = ["/", "/about/", "/guidelines/", "/news/", "/healthz/"]


def measure(client, path, count):
    client.get(path)  # warm caches and connections
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return _harness.latency_figures(timings)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    client = Client(SERVER_NAME="localhost")
    print(f"{'page':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}   ({count} requests each, one process)")
    for path in PAGES:
        figures = measure(client, path, count)
        print(f"{path:<16}{figures['rps']:>10.0f}{figures['p50_ms']:>10.2f}{figures['p99_ms']:>10.2f}")


if __name__ == "__main__":
    main()
