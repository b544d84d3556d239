"""A Dask cluster run and a local run give identical tables for the same seed."""

import pandas as pd
import pytest

from talentop.design.distributed import cell_design, grid_cells, grid_table, parse_grid, run_grid
from talentop.errors import InvalidInput


@pytest.fixture(scope="module")
def grid():
    cells = grid_cells(parse_grid(["hr=0.65,1", "n=260", "looks=0.5:1"]))
    return cells, [cell_design(c) for c in cells]


def test_dask_local_cluster_and_serial_runs_are_identical(grid):
    distributed = pytest.importorskip("dask.distributed")
    cells, designs = grid
    serial = run_grid(designs, replicates=600, seed=42)
    seen = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = run_grid(
                designs,
                replicates=600,
                seed=42,
                mode="dask",
                client=client,
                progress=lambda done, total: seen.append((done, total)),
            )
    for a, b in zip(serial, on_dask, strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        grid_table(cells, designs, serial), grid_table(cells, designs, on_dask)
    )
    assert seen[-1] == (6, 6)  # 2 cells x 3 blocks of 250, 250, 100


def test_cells_have_their_own_streams(grid):
    _, designs = grid
    same = run_grid([designs[1], designs[1]], replicates=100, seed=1)
    assert not same[0]["z_2"].equals(same[1]["z_2"])


def test_grid_parsing_errors_name_the_item():
    with pytest.raises(InvalidInput, match="grid item 'power=0.8'"):
        parse_grid(["hr=0.7", "power=0.8"])
    with pytest.raises(InvalidInput, match="expected numbers"):
        parse_grid(["hr=0.7,abc"])
    with pytest.raises(InvalidInput, match=r"n=50: expected at least the \d+ events"):
        cell_design({"hr": 0.7, "n": 50})
