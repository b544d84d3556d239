"""The pages, one module per area (the API's ``routes`` mirror)."""
