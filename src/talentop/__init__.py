"""talentop: run and analyse conversion-therapy trials in liver cancer (modelled on TALENTOP)."""

__version__ = "0.1.0"
