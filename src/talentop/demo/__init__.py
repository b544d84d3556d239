"""The in-silico TALENTOP: a synthetic cohort, run through the real services, then analysed.

``cohort`` (pure generator) -> ``run`` (feeds the services, one patient at a time) ->
``analysis`` (reads the ADTTE and DB summaries, runs the statistics, builds the report).
"""
