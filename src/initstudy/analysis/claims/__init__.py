"""Claims: hypotheses from the literature, each a named experiment config
(``config/claims/<name>.yaml``) with a decision rule fixed before the data, decided
PASS, FAIL or INCONCLUSIVE from that study's tidy tables.

- :mod:`~initstudy.analysis.claims.inference`: the tests, their intervals and the
  smallest p each can reach with n seeds;
- :mod:`~initstudy.analysis.claims.rule`: a rule's verdict, and a conjunction's;
- :mod:`~initstudy.analysis.claims.registry`: the claim families by name;
- :mod:`~initstudy.analysis.claims.families`: one module per family (he2015,
  glorot2010, pennington2017, schoenholz2017, saxe2013, optimizer_robustness);
- :mod:`~initstudy.analysis.claims.registration`: the rules' hash, the registry of
  rules fixed before the data, and a verdict's registration status;
- :mod:`~initstudy.analysis.claims.evaluate`: a claim's verdict table and figure
  tables, and the table of all claims.

Controls (zeros never learns) are no claims: :mod:`initstudy.analysis.controls`.
"""
