"""A Dask cluster run and a local run give identical tables for the same seed."""

import pandas as pd
import pytest

from talentop.design.distributed import cell_design, grid_cells, grid_table, parse_grid, run_grid
from talentop.errors import InvalidInput


@pytest.fixture(scope="module")
def grid():
    cells = grid_cells(parse_grid(["hr=0.65,1", "n=260", "looks=0.5:1"]))
    return cells, [cell_design(c, design_hr=0.7) for c in cells]


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


@pytest.fixture(scope="module")
def tcp_cluster():
    """A real scheduler reached by its TCP address (the --scheduler path), 2 workers."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_scheduler_address_run_matches_serial_and_reports_progress(grid, tcp_cluster):
    """run_grid(mode="dask", scheduler="tcp://...") connects its own Client to the address
    (no in-process client passed) and returns the serial tables exactly."""
    cells, designs = grid
    assert tcp_cluster.startswith("tcp://")
    seen = []
    on_cluster = run_grid(
        designs,
        replicates=400,
        seed=7,
        mode="dask",
        scheduler=tcp_cluster,
        progress=lambda done, total: seen.append((done, total)),
    )
    serial = run_grid(designs, replicates=400, seed=7)
    for a, b in zip(serial, on_cluster, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert [done for done, _ in seen] == [1, 2, 3, 4] and seen[-1][1] == 4


def test_cli_simulate_on_the_scheduler_equals_the_serial_run(tcp_cluster):
    """`talentop simulate --grid ... --scheduler ADDRESS --json` prints the same table as
    `--local serial` for the same seed."""
    import json

    from typer.testing import CliRunner

    from talentop.cli import app

    args = ["simulate", "--grid", "hr=0.7,1", "--grid", "looks=0.5:1", "--design-hr", "0.7", "--replicates", "300",
            "--seed", "11", "--json"]  # fmt: skip
    runner = CliRunner()
    remote = runner.invoke(app, [*args, "--scheduler", tcp_cluster])
    local = runner.invoke(app, [*args, "--local", "serial"])
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.output) == json.loads(local.output)
    assert len(json.loads(remote.output)["cells"]) == 2


def test_process_pool_run_matches_serial(grid):
    """Blocks finish in any order on 2 processes; tables are keyed by (cell, block)."""
    _, designs = grid
    pooled = run_grid(designs, replicates=300, seed=5, mode="processes")
    for a, b in zip(run_grid(designs, replicates=300, seed=5), pooled, strict=True):
        pd.testing.assert_frame_equal(a, b)
