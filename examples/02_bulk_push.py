"""Push households from your system: mint ids once, check with a dry run, push, read the per-row summary.

    JALDPI_URL=... JALDPI_CLIENT_ID=... JALDPI_CLIENT_SECRET=... python examples/02_bulk_push.py [VILLAGE_LGD_CODE]

Without a village code the first village you can see is used. One row is wrong on purpose (no members) to show how
refused rows are reported; the others are written. Pushing the same rows again changes nothing.
"""

import os
import sys
import time

from jaldpi.client import JaldpiClient, new_id


def connect() -> JaldpiClient:
    url = os.environ.get("JALDPI_URL", "http://127.0.0.1:8000")
    if os.environ.get("JALDPI_CLIENT_ID"):
        return JaldpiClient(url, client_id=os.environ["JALDPI_CLIENT_ID"],
                            client_secret=os.environ["JALDPI_CLIENT_SECRET"])
    return JaldpiClient(url, username=os.environ["JALDPI_USERNAME"], password=os.environ["JALDPI_PASSWORD"])


def main() -> None:
    with connect() as node:
        if len(sys.argv) > 1:
            village = int(sys.argv[1])
        else:
            village = node.admin_units.list(level="village", limit=1).items[0].lgd_code
        batch = time.strftime("%Y%m%d%H%M%S")
        # In a real system the id is minted when the household is first recorded there, and stored with it:
        # re-sending the row then updates (or ignores) the same record instead of creating another.
        rows = [{"id": str(new_id()), "village": village, "members_count": 2 + i % 5, "has_tap_connection": i % 3 > 0,
                 "external_ids": {"mis": f"EX-{batch}-{i}"}} for i in range(25)]
        rows[12]["members_count"] = 0  # wrong on purpose

        check = node.households.bulk_push(rows, dry_run=True, atomic=False)
        print(f"dry run: status={check.status} would create {check.stats.created}, errors={check.stats.errors}")

        summary = node.households.bulk_push(rows, atomic=False, batch_size=10)
        print(f"pushed to village {village}: status={summary.status} created={summary.stats.created} "
              f"errors={summary.stats.errors} in {len(summary.batches)} requests")
        for row in summary.failed_rows:  # indices point into `rows`
            for error in row.errors:
                print(f"  row {row.index}: {error.code} {error.field}: {error.message}")

        again = node.households.bulk_push(rows, atomic=False, batch_size=10)
        print(f"pushed again: ignored={again.stats.ignored} created={again.stats.created}")


if __name__ == "__main__":
    main()
