"""The regression guard of the local runtime at volume (issue 17): a burst of referrals from 8 clients, a fifth of
them repeated, through `python -m infra.local` (bench/load.py at a small size; `make bench` runs it at 2,000).

Every referral gets exactly one acknowledgement and one coordinators' notice, and the runtime's memory stays
bounded (before moto's instance tracking and table copies were fixed, 150 referrals took it to 3.8 GiB)."""

from __future__ import annotations

from pathlib import Path

from bench import load

POSTS = 120
MAX_RUNTIME_RSS_MIB = 400


def test_a_burst_of_referrals_is_acknowledged_once_each_with_memory_bounded(tmp_path: Path) -> None:
    figures = load.run(n=POSTS, clients=8, workdir=tmp_path, ack_wait=90)
    load.report(figures)

    assert figures["statuses"] == {201: POSTS}
    assert figures["unacknowledged"] == [] and figures["acknowledged_twice"] == 0
    assert figures["acknowledged_once"] == figures["noticed_once"] == figures["referrals"]
    runtime_rss_at_end, _workers = figures["rss"]["end"]
    assert runtime_rss_at_end < MAX_RUNTIME_RSS_MIB
