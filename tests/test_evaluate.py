"""Retrieval metrics and their chance levels, checked by enumerating every ranking, and the
`crossmodal eval` command on the fake store."""

import json
from itertools import permutations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from crossmodal.evaluate import (
    bootstrap_interval,
    chance_hit,
    chance_mrr,
    chance_ndcg,
    chance_recall,
    ndcg,
    query_metrics,
)
from crossmodal.store import Store


def test_metrics_by_hand() -> None:
    assert ndcg([1], 1) == 1.0
    assert ndcg([2], 1) == pytest.approx(0.6309, abs=1e-4)  # 1 / log2(3)
    assert ndcg([1, 3], 2) == pytest.approx((1 + 0.5) / (1 + 0.6309), abs=1e-4)
    assert ndcg([11], 1) == 0.0
    metrics = query_metrics([2, 7], relevant=2, pool=20)
    assert metrics["mrr"] == 0.5 and metrics["hit@1"] == 0.0 and metrics["hit@5"] == 1.0
    assert metrics["recall@5"] == 0.5 and metrics["recall@10"] == 1.0


@pytest.mark.parametrize(("pool", "relevant"), [(2, 1), (5, 2), (6, 3), (7, 1)])
def test_chance_levels_equal_the_mean_over_every_ranking(pool: int, relevant: int) -> None:
    """Exact expectations: enumerate all orders of the pool (relevant items are 0..relevant-1)."""
    totals = {"mrr": 0.0, "mrr2": 0.0, "ndcg": 0.0, "hit3": 0.0, "recall3": 0.0}
    orders = list(permutations(range(pool)))
    for order in orders:
        ranks = sorted(order.index(item) + 1 for item in range(relevant))
        totals["mrr"] += 1 / ranks[0]
        totals["mrr2"] += 1 / ranks[0] if ranks[0] <= 2 else 0.0  # ranked 2 deep
        totals["ndcg"] += ndcg(ranks, relevant)
        totals["hit3"] += ranks[0] <= 3
        totals["recall3"] += sum(r <= 3 for r in ranks) / relevant
    count = len(orders)
    assert chance_mrr(pool, relevant) == pytest.approx(totals["mrr"] / count)
    assert chance_mrr(pool, relevant, depth=2) == pytest.approx(totals["mrr2"] / count)
    assert chance_ndcg(pool, relevant) == pytest.approx(totals["ndcg"] / count)
    assert chance_hit(pool, relevant, 3) == pytest.approx(totals["hit3"] / count)
    assert chance_recall(pool, relevant, 3) == pytest.approx(totals["recall3"] / count)


def test_eval_command(fake_store: Store, collection: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    store = str(fake_store.root)
    assert runner.invoke(app, ["update", str(collection), "--store", store]).exit_code == 0
    labels = collection / "labels.jsonl"
    lines = [
        {
            "id": "blue",
            "kind": "text->image",
            "query": "blue picture",
            "type": "image",
            "relevant": ["photos/c.webp"],
        },
        {
            "id": "sea",
            "kind": "text->text",
            "query": "the blue sea",
            "type": "text",
            "relevant": ["notes/sea.md"],
        },
        {
            "id": "hum",
            "kind": "text->audio",
            "query": "low hum",
            "type": "audio",
            "relevant": ["sounds/low.wav"],
        },
    ]
    labels.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = runner.invoke(app, ["eval", str(labels), "--store", store, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    overall = report["kinds"]["overall"]
    assert overall["queries"] == 3 and overall["mrr"] == 1.0 and overall["ndcg@10"] == 1.0
    assert 0 < overall["chance_mrr"] < 1 and overall["chance_hit@5"] == 1.0  # pools of 2-3
    assert overall["ci95"]["mrr"] == [1.0, 1.0] and "chance_mrr" not in overall["ci95"]
    table = runner.invoke(app, ["eval", str(labels), "--store", store, "--verbose"])
    assert table.exit_code == 0 and "overall" in table.output and "chance" in table.output
    assert "±0.000" in table.output and "bootstrap" in table.output
    labels.write_text('{"id": 1, "query": "x"}\n')
    bad = runner.invoke(app, ["eval", str(labels), "--store", store])
    assert bad.exit_code == 1 and "bad labelled query" in bad.stderr
    missing = runner.invoke(app, ["eval", str(tmp_path / "none.jsonl"), "--store", store])
    assert missing.exit_code == 1 and "cannot read queries file" in missing.stderr


def test_the_bootstrap_interval_of_a_mean() -> None:
    """Seeded (the same report twice), exact for constant values, and for 100 coin flips about
    the normal approximation's +-1.96 * 0.05; wider for fewer queries."""
    assert bootstrap_interval([0.7] * 9) == (0.7, 0.7)
    assert bootstrap_interval([]) == (0.0, 0.0)
    flips = [0.0, 1.0] * 50
    low, high = bootstrap_interval(flips)
    assert bootstrap_interval(flips) == (low, high)
    assert low < 0.5 < high and 0.08 < (high - low) / 2 < 0.115
    few_low, few_high = bootstrap_interval([0.0, 1.0] * 5)
    assert few_high - few_low > 2.5 * (high - low)
    narrow_low, narrow_high = bootstrap_interval(flips, level=0.5)
    assert low < narrow_low < narrow_high < high
