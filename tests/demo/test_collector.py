"""``demo.collector.fewer_collections``: the thresholds and the frozen generation are the
bulk ones inside the block and what they were after it, also after an error."""

from __future__ import annotations

import gc

import pytest

from talentop.demo.collector import BULK_THRESHOLDS, fewer_collections


@pytest.fixture(autouse=True)
def _nothing_frozen():
    """Another test (a server's lifespan) may have frozen objects: start from none."""
    gc.unfreeze()


def test_inside_the_block_objects_are_frozen_and_thresholds_raised():
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_threshold() == BULK_THRESHOLDS
        assert gc.get_freeze_count() > 0  # the modules and objects existing at the start
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_an_error_restores_the_collector_too():
    before = gc.get_threshold()

    @fewer_collections()
    def fails():
        assert gc.get_threshold() == BULK_THRESHOLDS
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        fails()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_made_in_the_block_is_still_collected():
    """A cycle made inside is collected by gc.collect() inside (nothing made there is
    frozen) and after."""
    import weakref

    class Node:
        pass

    with fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def test_objects_frozen_before_stay_frozen():
    """A server froze its start-up objects: the block leaves them frozen."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    with fewer_collections():
        pass
    assert gc.get_freeze_count() >= frozen
    gc.unfreeze()
