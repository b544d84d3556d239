"""CLI sub-commands, one module per topic; `talentop.cli` registers them."""
