"""The REST API's routers, one module per resource group; each route is thin over services."""
