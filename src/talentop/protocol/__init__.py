"""Trial protocols as data: pydantic models and the loader for ``talentop.yaml`` & co."""

from talentop.protocol.loader import available_protocols, load_protocol, protocol_from_mapping
from talentop.protocol.models import (
    Arm,
    Assessment,
    Criterion,
    DrugDose,
    FollowUp,
    Induction,
    InductionCycle,
    Mdt,
    Protocol,
    Randomisation,
    Stratum,
    StratumLevel,
    Surgery,
    Ttf,
)

__all__ = [
    "Arm",
    "Assessment",
    "Criterion",
    "DrugDose",
    "FollowUp",
    "Induction",
    "InductionCycle",
    "Mdt",
    "Protocol",
    "Randomisation",
    "Stratum",
    "StratumLevel",
    "Surgery",
    "Ttf",
    "available_protocols",
    "load_protocol",
    "protocol_from_mapping",
]
