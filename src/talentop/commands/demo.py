"""`talentop demo`: an in-silico TALENTOP end to end, and the trial report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talentop.cli import skip_final_collection
from talentop.commands import _limits
from talentop.commands._edge import console, edge, print_json, print_table
from talentop.commands._files import output_dir


def _hr(figures: dict, endpoint: str) -> str:
    """HR (95% CI) from the key figures, or 'not estimable (reason)'."""
    from talentop.reports import fmt_hr

    ci = figures[f"{endpoint}_hr_ci" if endpoint == "ttf" else "os_ci"]
    return fmt_hr(figures[f"{endpoint}_hr"], *ci, reason=figures[f"{endpoint}_hr_reason"])


def _progress_bar(as_json: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=as_json,
        transient=False,
    )


def _entry_demo(protocol, out: Path, db: str | None, seed: int, patients: int, as_json: bool):
    """The at-entry pathway (TALENTACE): run, then print the comparison or JSON."""
    from talentop.demo.entry_pipeline import run_entry_demo
    from talentop.demo.entry_report import published_rows

    with _progress_bar(as_json) as bar:
        task = bar.add_task("patients through the services", total=patients)
        result = run_entry_demo(
            out,
            protocol,
            db_url=db,
            n_patients=patients,
            seed=seed,
            progress=lambda _, done, total: bar.update(task, completed=done, total=total),
        )
    skip_final_collection()  # run_entry_demo closed its database connections and files
    published = {k: v.value for k, v in protocol.published.items()}
    rows = published_rows(result.figures, published, result.interim.key)
    columns = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run")
    if as_json:
        print_json(
            {
                "report": str(result.report),
                "database_url": result.database_url,
                "seconds": round(result.seconds, 1),
                "protocol": protocol.id,
                "published": published,
                "figures": result.figures,
                "comparison": [{k: row[k] for k in columns} for row in rows],
            }
        )
        return
    table = Table(title=f"{protocol.id.upper()}: published vs calibrated model vs this run")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(escape(row[k]) for k in columns))  # "[input]" is text, not markup
    console.print(table)
    console.print(
        f"Report: [bold]{result.report}[/]  (database {result.database_url}, {result.seconds:.1f} s)"
    )


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the root app."""

    @app.command("demo")
    @edge
    def demo(
        db: str = typer.Option(
            None,
            "--db",
            help="Database URL (must be empty: checked before anything is written). Default: "
            "`OUT/talentop-demo.db` (OUT is `--out`), deleted and recreated on every run. Its "
            "keys (derived from the seed) and audit checkpoints go to "
            "`OUT/talentop-demo-keys` and `OUT/talentop-demo-checkpoints`.",
        ),
        out: Path = typer.Option(
            Path("report"),
            "--out",
            help="Report folder (index.html, figures/, tables/, adtte.csv).",
        ),
        seed: int = typer.Option(
            2025, "--seed", help="Random seed: the same seed gives the same trial."
        ),
        patients: int = typer.Option(
            None,
            "--patients",
            min=10,
            help="Screened patients to simulate. Default: the protocol's published screened "
            "count (TALENTOP 627), else its published randomised count / 0.85 (TALENTACE "
            f"402). At most {_limits.MAX_DEMO_PATIENTS:,} (about 20 minutes).",
        ),
        protocol_name: str = typer.Option(
            "talentop",
            "--protocol",
            help="Protocol name (talentop, talentace) or YAML file. A protocol randomised at "
            "entry (randomisation.timing: at_entry) runs the at-entry pathway (TACE, ...).",
        ),
        dynamic_reassessment: bool = typer.Option(
            False,
            "--dynamic-reassessment",
            help="Also run the same cohort with arm-B patients switched to surgery when the MDT finds them resectable, and compare.",
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the key figures as JSON."),
    ) -> None:
        """Simulate a trial end to end (TALENTOP by default; --protocol talentace); write the report.

        TALENTOP: screen, induce, assess (RECIST), MDT, randomise, follow up. A protocol
        randomised at entry (TALENTACE): screen, randomise, TACE on demand, atezo/bev after TACE,
        mRECIST scans, TACE-PFS. Every synthetic patient goes through the real services
        (eligibility engine, dose calendar, RECIST engine, MDT votes, concealed randomisation);
        the analysis (KM, stratified log-rank and Cox, subgroups, the SAP's monitoring) is
        written to OUT/index.html.
        """
        from talentop.protocol import load_protocol

        protocol = load_protocol(protocol_name)
        if patients is None:
            published = {k: v.value for k, v in protocol.published.items()}
            patients = int(
                published.get("screened") or round(published.get("randomised", 340) / 0.85)
            )
        _limits.demo_patients(patients)
        output_dir(out, create=False)  # checked only: nothing is written before the run
        if protocol.randomisation.timing == "at_entry":
            _entry_demo(protocol, out, db, seed, patients, as_json)
            return
        from talentop.demo.outcomes import prefetch_outcome_model

        prefetch_outcome_model()  # calibrated in a child while the pipeline is imported
        from talentop.demo.pipeline import run_demo
        from talentop.store.urls import mask_url

        with _progress_bar(as_json) as bar:
            tasks: dict[int, int] = {}
            runs = [0]

            def progress(phase: str, done: int, total: int) -> None:
                if done == 1:
                    runs[0] += 1
                    label = "standard run" if runs[0] == 1 else "dynamic reassessment run"
                    tasks[runs[0]] = bar.add_task(
                        f"patients through the services ({label})", total=total
                    )
                bar.update(tasks[runs[0]], completed=done)

            result = run_demo(
                out,
                db_url=db,
                n_patients=patients,
                seed=seed,
                dynamic_reassessment=dynamic_reassessment,
                progress=progress,
                protocol=protocol,
            )
        skip_final_collection()  # run_demo closed its database connections and files
        from talentop.demo.analysis import published_rows
        from talentop.demo.provenance import published_values

        rows = published_rows(result.figures, protocol)
        columns = ("Figure", "Published (interim)", "Calibrated model (expected)", "This run")
        if as_json:
            print_json(
                {
                    "report": str(result.report),
                    "closed_dmc_report": str(result.report.with_name("closed-dmc.html")),
                    "database_url": mask_url(result.database_url),
                    "seconds": round(result.seconds, 1),
                    "published": published_values(protocol),
                    "expected": result.figures.get("expected", {}),
                    "figures": result.figures,
                    "comparison": [{k: row[k] for k in columns} for row in rows],
                    "dynamic": result.dynamic,
                }
            )
            return
        table = Table(title="Published interim vs calibrated model vs this run")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(escape(row[k]) for k in columns))  # "[input]" is text, not markup
        print_table(table)
        if result.dynamic:
            c = result.dynamic["conversion"]
            d, f = result.dynamic, result.figures
            console.print(
                f"Dynamic reassessment vs standard run: TTF HR {_hr(d, 'ttf')} vs "
                f"{_hr(f, 'ttf')}; OS HR {_hr(d, 'os')} vs {_hr(f, 'os')}; "
                f"arm B switched {c['switched']} of {c['arm_b']}, operated after the switch "
                f"{c['operated_after_switch']}; converted {c['converted']} of "
                f"{c['unresectable']} found unresectable at the first reassessment"
            )
        console.print(
            f"Report: [bold]{result.report}[/]  (database {mask_url(result.database_url)}, "
            f"{result.seconds:.1f} s)",
            highlight=False,
        )
        closed = result.report.with_name("closed-dmc.html")
        if closed.exists():
            console.print(f"Closed report for the Data Monitoring Committee: {closed}")
