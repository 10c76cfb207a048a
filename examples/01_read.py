"""Sign in, see where you may read, list villages, and read every household of your jurisdiction page by page.

    JALDPI_URL=http://127.0.0.1:8000 JALDPI_CLIENT_ID=partner_system JALDPI_CLIENT_SECRET=demo-partner_system \
        python examples/01_read.py

(People sign in with JALDPI_USERNAME and JALDPI_PASSWORD instead of a client id and secret.)
"""

import os

from jaldpi.client import JaldpiClient, NotFound


def connect() -> JaldpiClient:
    url = os.environ.get("JALDPI_URL", "http://127.0.0.1:8000")
    if os.environ.get("JALDPI_CLIENT_ID"):  # a partner system: OAuth2 client credentials
        return JaldpiClient(url, client_id=os.environ["JALDPI_CLIENT_ID"],
                            client_secret=os.environ["JALDPI_CLIENT_SECRET"])
    return JaldpiClient(url, username=os.environ["JALDPI_USERNAME"], password=os.environ["JALDPI_PASSWORD"])


def main() -> None:
    with connect() as node:
        me = node.me()
        print(f"signed in as {me.subject} ({me.kind}); households readable in {me.permissions['households:read']}")

        villages = node.admin_units.list(level="village", limit=3, total=True)  # one page, and the count
        names = ", ".join(f"{v.name} (LGD {v.lgd_code})" for v in villages.items)
        print(f"{villages.total} villages, the first: {names}")

        households = with_tap = 0
        for household in node.households.iterate(page_size=500):  # follows next_cursor until the last page
            households += 1
            with_tap += bool(household.has_tap_connection)
        print(f"{households} households, {with_tap} with a tap connection")

        try:
            node.households.get("HH-000000000000")
        except NotFound as exc:  # missing, or outside your jurisdiction: the node does not say which
            print(f"not found: {exc.code}")


if __name__ == "__main__":
    main()
