"""Generated bad deliveries: a property-based generator of insurer delivery mutations and
the oracle that judges the contract's verdict on each.

A *case* is a clean delivery (generated rows that meet delivery-contract.md) with one
mutation, over the values of every column, the bytes of the file, every manifest field or
the folder, and a few variations the contract tolerates on top. Each mutation says what
the contract must do with it (:class:`model.Expectation`): reject it (and with which
rule, on which line, where that is certain), accept it because it changes no value the
method reads (then the typed rows must be exactly the clean delivery's), accept a value
the contract does not judge (the contents gate does: the typed rows must carry exactly
that value), or not see it at all (an upload in progress, a folder the landing zone does
not know).

- ``model``: the cases and the contract's reference (what a value must look like), with
  no dependency beyond the standard library: written to disk by ``write_case``;
- ``strategies``: the hypothesis strategies that generate cases (imports hypothesis);
- ``worker``: the validator in a subprocess of its own, bounded in memory;
- ``oracle``: the worker's client (with a time limit per case) and the judgement;
- ``campaign``: a seeded run of N cases with its counts (``spiegel fuzz``, the CI test).
"""
