#!/usr/bin/env python3
"""Writes N JSON-lines events (~150 bytes each) for the ETL benchmark.

About 1% of rows are bad (wrong type), 5% have a negative amount (filtered), the rest
route to events_order / events_inventory / events_user_activity."""
import random
import sys


def main() -> None:
    n = int(sys.argv[1])
    path = sys.argv[2]
    rnd = random.Random(42)
    types = ("order", "inventory", "user_activity")
    countries = ("US", "DE", "FR", "GB", "JP")
    with open(path, "w", buffering=1 << 20) as out:
        for i in range(n):
            t = types[i % 3]
            amount = f"{rnd.uniform(0, 900):.2f}" if i % 20 else f"-{rnd.uniform(0, 50):.2f}"
            if i % 100 == 37:
                amount = '"n/a"'
            out.write(
                f'{{"event_id": "ev-{i:09d}", "event_type": " {t.upper() if i % 5 == 0 else t} ", '
                f'"user_id": "user-{rnd.randrange(100000):06d}", "amount": {amount}, '
                f'"ts": "2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z", '
                f'"country": "{countries[i % 5]}"}}\n')


if __name__ == "__main__":
    main()
