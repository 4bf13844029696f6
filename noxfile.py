"""Every development command, in one place: ``nox -l`` lists them, ``nox -s NAME`` runs one.

The sessions run in the environment nox is started from (no virtual environment of
their own), so they take seconds to start and see what ``pip install -e '.[test,dev]'``
installed there. Arguments after ``--`` go to the command:

    nox -s fast                      # unit tests and one broker's integration smoke test, minutes
    nox -s suite                     # the whole suite, as the README's test command runs it
    nox -s suite -- -k stories       # a part of it
    nox -s lint types deps           # what CI checks of the code
    nox -s gate -- ../shared/data    # the quality gate
    nox -s bench -- extraction ../shared/data   # one benchmark (bench/extraction.py)
    nox -s outputs -- ../shared/data # the pipeline's outputs hashed: a refactor keeps them
    nox -s ci                        # all of CI (.ci/run): installs from scratch
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "types", "deps", "fast"]

ROOT = Path(__file__).resolve().parent
PYTEST = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")


@nox.session
def fast(session: nox.Session) -> None:
    """Unit and deploy tests, and the integration smoke test on the embedded broker."""
    session.run(*PYTEST, "-m", "not integration and not container or smoke", *session.posargs)


@nox.session
def suite(session: nox.Session) -> None:
    """The whole suite: the README's test command (in parallel, on both brokers)."""
    session.run(*PYTEST, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint and format check."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    session.run("mypy", "--strict", "workers", "schemas", "tests", "bench", "noxfile.py")


@nox.session
def deps(session: nox.Session) -> None:
    """Every package the code imports is declared in pyproject.toml."""
    session.run("deptry", ".")


@nox.session
def gate(session: nox.Session) -> None:
    """The quality gate: every quality figure against its floor (DATA: the data folder)."""
    session.run(sys.executable, "bench/gate.py", *(session.posargs or ["../shared/data"]))


@nox.session
def bench(session: nox.Session) -> None:
    """One benchmark: ``nox -s bench -- NAME ARGS`` runs bench/NAME.py ARGS
    (``pip install '.[bench]'`` for the peers; docs/benchmarks.md lists them)."""
    if not session.posargs:
        names = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))
        session.error(f"name a benchmark: {', '.join(names)}")
    name, *args = session.posargs
    session.run(sys.executable, f"bench/{name}.py", *args)


@nox.session
def outputs(session: nox.Session) -> None:
    """The pipeline's outputs on the development data, hashed (a refactor keeps them)."""
    session.run(sys.executable, "bench/outputs.py", *(session.posargs or ["../shared/data"]))


@nox.session
def ci(session: nox.Session) -> None:
    """All of CI, as it runs on a clean clone: installs from scratch (minutes)."""
    session.run("bash", ".ci/run", external=True)
