"""Follow the change feed: handle each change once, and resume where you stopped after a restart.

    JALDPI_URL=... JALDPI_CLIENT_ID=... JALDPI_CLIENT_SECRET=... python examples/03_consume_feed.py [--follow]

The position is kept in JALDPI_CURSOR_FILE (default feed-cursors.json). Without --follow the script handles what
is new and exits; with --follow it keeps polling every 5 seconds until Ctrl-C.
"""

import os
import sys

from jaldpi.client import Change, FeedConsumer, FileCursorStore, JaldpiClient


def connect() -> JaldpiClient:
    url = os.environ.get("JALDPI_URL", "http://127.0.0.1:8000")
    if os.environ.get("JALDPI_CLIENT_ID"):
        return JaldpiClient(url, client_id=os.environ["JALDPI_CLIENT_ID"],
                            client_secret=os.environ["JALDPI_CLIENT_SECRET"])
    return JaldpiClient(url, username=os.environ["JALDPI_USERNAME"], password=os.environ["JALDPI_PASSWORD"])


# Your copy of the data: record id -> version held. Delivery is at least once (after a crash the changes since the
# last saved cursor come again), so apply a change only if it is newer than what you hold.
held: dict[str, int] = {}


def handle(change: Change) -> None:
    key = f"{change.record_type}:{change.record_id}"
    if held.get(key, 0) >= change.version:
        return  # seen already
    held[key] = change.version
    members = change.record["members_count"] if change.record else None
    print(f"seq={change.seq} {change.record_type}.{change.operation} {change.record_id} v{change.version} "
          f"members={members}")


def main() -> None:
    store = FileCursorStore(os.environ.get("JALDPI_CURSOR_FILE", "feed-cursors.json"))
    with connect() as node:
        consumer = FeedConsumer(node, "households-sync", store, types=["households"], page_size=200)
        if "--follow" in sys.argv:
            try:
                consumer.run(handle, interval=5.0)
            except KeyboardInterrupt:
                pass
        else:
            handled = consumer.poll(handle)
            print(f"handled {handled} changes; cursor saved in {store.path}")


if __name__ == "__main__":
    main()
