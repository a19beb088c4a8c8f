"""fmes.core.rng: child seeds are stable, and different for every key."""

from __future__ import annotations

from fmes.core.rng import child_seed, child_seed_int


def test_child_seed_int_is_the_first_word_of_the_child_sequence():
    seed = child_seed_int(7, "networks", "mlp", 0)
    assert seed == int(child_seed(7, "networks", "mlp", 0).generate_state(1)[0])
    assert seed == child_seed_int(7, "networks", "mlp", 0)  # deterministic (crc32 keys)
    assert isinstance(seed, int) and 0 <= seed < 2**32


def test_child_seed_int_differs_by_parent_seed_and_by_every_key():
    seeds = {
        child_seed_int(7, "networks", "mlp", 0),
        child_seed_int(8, "networks", "mlp", 0),
        child_seed_int(7, "adaptation", "mlp", 0),
        child_seed_int(7, "networks", "perceptron", 0),
        child_seed_int(7, "networks", "mlp", 1),
        child_seed_int(7, "networks", "mlp"),
    }
    assert len(seeds) == 6
