"""The REST API (FastAPI): ``create_app(store, protocol)``; routes in ``talentop.api.routes``."""

from talentop.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
