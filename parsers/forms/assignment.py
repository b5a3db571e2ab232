"""The optimal assignment of questions to fields: scipy's solver, without the rest
of ``scipy.optimize``.

`linear_sum_assignment` is scipy's own (``scipy.optimize.linear_sum_assignment``
is the function of its compiled ``_lsap`` module).  Importing it the usual way
runs ``scipy.optimize``'s ``__init__``, which loads sparse matrices, linear
algebra and every other solver: about 50 MB of memory in each process that
matches forms (the parser sandbox's fork server and its workers, issue 10),
for one function that needs only numpy.  So the compiled module is loaded from
its file, found without importing scipy; where that fails (another scipy that
lays out its files differently), the usual import is used, and the answers
are the same.  `SOURCE` says which was taken.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

Solver = Callable[..., tuple[Any, Any]]


def _load() -> tuple[Solver, str]:
    try:
        return _compiled(), "compiled module"
    except (ImportError, OSError, AttributeError):  # the public import: the same function
        from scipy.optimize import linear_sum_assignment

        return linear_sum_assignment, "scipy.optimize"


def _compiled() -> Solver:
    found = importlib.util.find_spec("scipy")  # finds the package, runs none of it
    if found is None or not found.submodule_search_locations:
        raise ImportError("scipy is not installed")
    folder = Path(next(iter(found.submodule_search_locations))) / "optimize"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_lsap{suffix}"
        if path.is_file():
            break
    else:
        raise ImportError("scipy.optimize._lsap not found")
    # Named inside this package (the last part must stay "_lsap": the module's
    # entry point is named after it), not as a top-level "_lsap".
    spec = importlib.util.spec_from_file_location("parsers.forms._lsap", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path.name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    solver: Solver = module.linear_sum_assignment
    return solver


linear_sum_assignment, SOURCE = _load()

__all__ = ["SOURCE", "linear_sum_assignment"]
