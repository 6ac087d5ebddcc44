"""The claim families, one module each; importing this package registers them
(:func:`initstudy.analysis.claims.registry.register`). A new family is one module
here and its name in the import below, which is static on purpose: the workflow finds
the code a verb runs by parsing imports (:mod:`initstudy.core.code`), so editing a
family reruns the claims that use it. The symmetry control is no claim family: it lives
in :mod:`initstudy.analysis.controls`."""

from initstudy.analysis.claims.families import (  # noqa: F401
    glorot2010, he2015, optimizer_robustness, pennington2017, saxe2013, schoenholz2017)
