"""The synthetic insurer deliveries of ``spiegel generate``, exactly per delivery-contract.md.

``generate`` writes every period's delivery of every insurer, ``redeliver`` a later,
fault-free one; how the data is shaped and why is told in ``generate.py``.
"""

from orchestration.commands.synthetic.claim_lines import born_before
from orchestration.commands.synthetic.faults import DEFAULT_LABELS, FAULT_KINDS, LABEL_MODES, Fault, parse_fault
from orchestration.commands.synthetic.generate import GenerationSummary, generate, redeliver, size_for
from orchestration.commands.synthetic.shape import MARKET_SHARES

__all__ = [
    "DEFAULT_LABELS",
    "FAULT_KINDS",
    "LABEL_MODES",
    "MARKET_SHARES",
    "Fault",
    "GenerationSummary",
    "born_before",
    "generate",
    "parse_fault",
    "redeliver",
    "size_for",
]
