"""One module per CLI concern; `migrate.cli` assembles them."""
