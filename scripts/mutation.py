"""Mutation testing of the core modules that decide safety (issue 24, part 4): ``python -m scripts.mutation``.

Each module is mutated by mutmut (one-line changes: ``<`` for ``<=``, ``and`` for ``or``, a constant, a
dropped call...) in a scratch copy of the tree, and only the test files listed for it are run against
each mutant (mutmut maps each test to the functions it reaches, so a mutant runs only the tests that
can see it). A mutant the tests do not notice "survives": either a test is missing, or the mutant is
equivalent (it changes nothing observable) and ``EQUIVALENT`` below says why.

The report (``tests/mutation-report.md``) lists the score per module and every survivor. The run is
sized for about 10 minutes on 2 cores: the tests per module are the focused ones, not the suite.

    python -m scripts.mutation                 # every module, report written
    python -m scripts.mutation verify bulk     # some modules (the report covers those only)
    python -m scripts.mutation --jobs 1        # a busy machine: one mutant at a time

It runs with the lowest CPU priority (nice 19): the machine may be shared.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("PRISME_MUTATION_DIR", "/tmp/prisme-deploy-mutation"))
REPORT = ROOT / "tests" / "mutation-report.md"
TARGET = 0.90

SAFETY = "tests/unit/test_safety_mutants.py"
RAILS_UNIT = [
    f"tests/functional/test_rails.py::{name}"
    for name in (
        "test_weekly_window_over_the_weekend_in_paris",
        "test_window_keeps_its_wall_clock_hours_across_the_end_of_summer_time",
        "test_date_window_includes_its_last_day_and_daily_window_wraps_midnight",
        "test_bad_freeze_windows_are_refused_with_file_and_line",
    )
] + [
    f"tests/functional/test_hardening_round2.py::{name}"
    for name in (
        "test_a_freeze_window_holds_during_the_repeated_hour_of_a_dst_fall_back",
        "test_freeze_windows_start_at_their_earliest_and_end_at_their_latest_reading",
    )
]


@dataclass(frozen=True)
class Target:
    source: str
    tests: list[str]  # pytest arguments: files or node ids, the fast tests that call the module directly
    functions: tuple[str, ...] = ()  # only these (mutmut's names: x_<function>, xǁ<Class>ǁ<method>); empty: all


# module -> what is mutated and which tests judge it. A test of the whole CLI or app would see every mutant
# too, but at seconds a run it would not fit in 10 minutes: the core is tested directly (issue 24, part 4).
MODULES: dict[str, Target] = {
    "verify": Target("tui/core/ops/verify.py", [SAFETY]),
    "confirm": Target("tui/core/ops/confirm.py", [SAFETY]),
    "freeze": Target("tui/core/freeze.py", [SAFETY, *RAILS_UNIT]),
    "bulk": Target("tui/core/ops/bulk.py", [SAFETY]),
    "gate": Target("tui/core/ops/gate.py", [SAFETY, "tests/unit/test_gate.py"]),
    "rollout": Target(
        "tui/core/ops/rollout.py",
        [SAFETY, "tests/functional/test_rollout.py::test_durations_and_expected_outputs"],
        ("x__one_env_*", "x__fail_*", "x_matches_*", "x_optional_*", "x_seconds_*"),
    ),
    "plan": Target(
        "tui/core/ops/plan.py",
        [SAFETY],
        ("x__import_item_*", "x__compare_with_instance_*", "xǁPlanǁhas_changes*", "xǁPlanǁcounts*"),
    ),
}

# Mutants that change nothing observable in what the module decides, reviewed by hand: (module, a regular
# expression the mutant's added line matches, why). Matched on the code, not on mutmut's numbering, which
# moves whenever the file changes.
PACING = "pacing only: the backoff or the moment a wait is reported changes, never the verdict or its deadline"
EQUIVALENT: list[tuple[str, str, str]] = [
    ("verify", r'replace\("(XXZXX|z)"', 'Python >= 3.11 (the floor) parses "Z" itself: the replace is redundant'),
    ("verify", r"candidate: PushInfo \| None = \"\"", '"" and None both differ from any pull read: same loop'),
    ("verify", r"^\+\s+current = None$", "assigned by the first read before any use"),
    ("verify", r"pause = min\(pause (/|\*) [12]\.6", PACING),
    ("verify", r"2 \* FIRST_PAUSE|start > 2|3 \* FIRST_PAUSE|\+ start >= 2", PACING),
    ("verify", r"loop\.time\(\) (-|\+) pause >=? end", PACING + " (it overshoots or stops one pause short)"),
    ("confirm", r"freeze\.state\(None, env\.freeze\)\.current", "the name only labels the state; .current ignores it"),
    ("verify", r"loop\.time\(\) (-|\+) CONFIRM_PAUSE >=? end", PACING + " (the second read's deadline)"),
    ("gate", r"freeze\.state\(None, env\.freeze, now\)\.current", "the name only labels the state"),
    ("bulk", r"run = run or BulkRun\(", "a run the caller did not pass is seen by nobody"),
    ("rollout", r"value > 0:$", "0 then goes to the pattern, which reads str(0) as 0 seconds too"),
    ("bulk", r"write=None\)", "None is falsy like False: the same branch"),
    ("bulk", r"_to_push\(ctx, client, groups, None\)", "None is falsy like False: the same members"),
    (
        "bulk",
        r'kind == "failure":\n-\s+entry\.outcome = "failed"\n\+',
        "the ServerError raised next makes the journal entry failed whatever was set",
    ),
    ("bulk", r"^\+\s+answered = None$", "None is falsy like False: `not answered` reads the same"),
    (
        "verify",
        r"start > UNTRACKED_WAIT",
        PACING + " (the untracked answer comes at the same read but for an instant of exactly 60.000 s)",
    ),
    ("gate", r'op\.break_glass or "XXXX"', "an environment is in decision.glass only when op.break_glass is set"),
    ("freeze", r"now\.astimezone\(None\)", "the zone only centres the +-8-day scan, wide enough for any offset"),
    ("freeze", r"self\.first is not None or self\.last", "parse_window sets first and last together, or neither"),
    ("freeze", r"assert self\.start is not None or", "parse_window sets start and end together"),
    ("freeze", r"range\(-9, 9\)|range\(-8, 10\)", "a wider scan finds the same earliest occurrence"),
    ("freeze", r"local\.date\(\) - timedelta\(days=offset\)", "the scan is symmetric: the same days, in another order"),
    ("freeze", r"self\.start_day is not None\) or True|is not None else 1$", "end_day is set only with start_day"),
    (
        "freeze",
        r"if \(candidates\) or True",
        "a daily or weekly scan always finds an occurrence: the one starting within the next 7 days is in the "
        "+8-day scan and ends after now",
    ),
    (
        "freeze",
        r"_utc\(begin\) <= _utc\(now\) <= _utc\(end\)",
        "occurrence() returns only occurrences ending after now: now == end never gets here",
    ),
    (
        "freeze",
        r"finish = self\._instant\(.*, earliest=None\)",
        "None is falsy like False: the later reading, the same end",
    ),
    (
        "freeze",
        r"min\(candidates, key=None\)|min\(candidates, \)",
        "the candidates start on different days, so comparing (start, end) pairs by wall clock (what datetimes "
        "of one zone do) orders them as their starts in UTC do",
    ),
    (
        "freeze",
        r"key=lambda pair: _utc\(pair\[1\]\)",
        "the candidates are one pattern repeated on successive days: the one starting first ends first too",
    ),
    (
        "freeze",
        r"\.astimezone\(None\) for fold in",
        "the local zone is a fixed offset: min and max compare the two readings as instants, as in UTC, and the "
        "one chosen is converted to the window's zone next",
    ),
    (
        "freeze",
        r"return moment\.astimezone\(None\)$",
        "_utc only feeds comparisons: datetimes at a fixed offset (what astimezone(None) gives) compare as "
        "instants, as in UTC (tested with TZ=Australia/Lord_Howe and America/Havana: same states)",
    ),
    (
        "freeze",
        r"now = now or datetime\.now\(None\)",
        "a naive local now (fold set in a repeated hour, PEP 495) is read back as local time by every "
        "astimezone: the same instant; and no caller can pass the clock in to see it",
    ),
]


# The five one-line changes of core checks that used to leave every test green (issue 24). mutmut does not make
# all of them (it never drops a condition), so each is made by hand here, and its tests must then fail:
# (what, file, the line as it is, the line mutated, the tests that must fail).
SAFETY_TEST = f"{SAFETY}::test_"
NAMED: list[tuple[str, str, str, str, list[str]]] = [
    (
        "verify's second read",
        "tui/core/ops/verify.py",
        "if pull == candidate:",
        "if True:",
        [SAFETY_TEST + "a_pull_is_confirmed_only_by_a_second_read_that_agrees"],
    ),
    (
        "the busy check",
        "tui/core/ops/verify.py",
        "busy = lock in BUSY_LOCKS",
        "busy = False",
        [SAFETY_TEST + "a_workspace_still_busy_is_not_confirmed"],
    ),
    (
        "the rails check in the core (freeze windows, in the gate)",
        "tui/core/ops/gate.py",
        "if current is not None and not op.dry_run:",
        "if False:",
        [SAFETY_TEST + "every_refusal_says_where_why_and_how_through", "tests/unit/test_gate.py"],
    ),
    (
        "the bulk-import group filter",
        "tui/core/ops/bulk.py",
        "if not own.accepts(event):",
        "if False:",
        [SAFETY_TEST + "a_clean_import_passes_every_group"],
    ),
    (
        "a rollout's stop on a failed import",
        "tui/core/ops/rollout.py",
        "if result.failed:",
        "if False:",
        [SAFETY_TEST + "a_rollout_stops_on_a_failed_import_before_its_gates"],
    ),
]


def run_named() -> list[tuple[str, str, str]]:
    """Each of the five made by hand in a scratch copy: (what, "killed" or why not, the tests run)."""
    found: list[tuple[str, str, str]] = []
    for number, (what, source, line, mutated, tests) in enumerate(NAMED):
        where = SCRATCH / f"named-{number}"
        shutil.rmtree(where, ignore_errors=True)
        shutil.copytree(ROOT / "tui", where / "tui", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "tests", where / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "pyproject.toml", where / "pyproject.toml")
        shown = ", ".join(t.removeprefix(SAFETY_TEST) for t in tests)
        text = (where / source).read_text(encoding="utf-8")
        if text.count(line) != 1:
            found.append((what, f"NOT MADE: {line!r} is not in {source} exactly once", shown))
            continue
        (where / source).write_text(text.replace(line, mutated), encoding="utf-8")
        command = ["nice", "-n", "19", sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
        env = {**os.environ, "PYTHONPATH": str(where)}
        done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False)
        found.append((what, "killed" if done.returncode == 1 else f"SURVIVED (pytest exit {done.returncode})", shown))
    return found


@dataclass
class Result:
    module: str
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (mutant name, diff)
    error: str = ""

    @property
    def killed(self) -> int:
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def equivalent(self) -> int:
        return sum(1 for _, diff in self.survivors if why_equivalent(self.module, diff))

    @property
    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "skipped")

    @property
    def score(self) -> float:
        """Killed over the mutants that can be killed (equivalent ones are not)."""
        denominator = self.total - self.equivalent
        return self.killed / denominator if denominator else 0.0


def why_equivalent(module: str, diff: str) -> str | None:
    """A pattern matches one added line, or, when it spans lines (``\\n``), the whole diff."""
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    for where, pattern, why in EQUIVALENT:
        if where != module:
            continue
        if ("\\n" in pattern and re.search(pattern, diff)) or any(re.search(pattern, line) for line in added):
            return why
    return None


def _config(source: str, tests: list[str]) -> str:
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["tui"]\n'
        f"only_mutate = [{json.dumps(source)}]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:randomly", "-q", "-o", "addopts="]\n'
        "use_git_change_detection = false\n"
    )


def _scratch(module: str, source: str, tests: list[str]) -> Path:
    where = SCRATCH / module
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    shutil.copytree(ROOT / "tui", where / "tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", where / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (where / "pyproject.toml").write_text(text + _config(source, tests), encoding="utf-8")
    return where


def _mutmut(where: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    command = ["nice", "-n", "19", sys.executable, "-m", "mutmut", *args]
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=timeout, check=False)


# Every mutant's status, and the diff of those not killed, in one process (``mutmut show`` per mutant
# would start mutmut hundreds of times).
_DUMP = """
import json
from mutmut.__main__ import SourceFileMutationData, get_diff_for_mutant, status_by_exit_code, walk_mutatable_files
out = {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name, code in data.exit_code_by_key.items():
        status = status_by_exit_code[code]
        diff = get_diff_for_mutant(name, path=path)
        out[name] = [status, diff]
print(json.dumps(out))
"""


def _outcomes(where: Path) -> dict[str, tuple[str, str]]:
    command = ["nice", "-n", "19", sys.executable, "-c", _DUMP]
    env = {**os.environ, "PYTHONPATH": str(where)}
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        return {k: (v[0], v[1]) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    except (ValueError, IndexError):
        return {}


def run_module(module: str, jobs: int, budget: float) -> Result:
    target = MODULES[module]
    result = Result(module)
    if not (ROOT / target.source).exists():
        result.error = f"{target.source} does not exist in this tree"
        return result
    tests = [t for t in target.tests if (ROOT / t.split("::")[0]).exists()]
    where = _scratch(module, target.source, tests)
    dotted = target.source.removesuffix(".py").replace("/", ".")
    names = [f"{dotted}.{f}" for f in target.functions]
    started = time.monotonic()
    try:
        run = _mutmut(where, "run", "--max-children", str(jobs), *names, timeout=budget)
    except subprocess.TimeoutExpired:
        result.error = f"not finished within {budget:g} s"
        run = None
    result.seconds = time.monotonic() - started
    if run is not None and run.returncode != 0:
        result.error = f"mutmut exited {run.returncode}: {(run.stderr or run.stdout)[-600:]}"
    for name, (status, diff) in _outcomes(where).items():
        if names and not any(fnmatch.fnmatch(name, n) for n in names):
            continue  # a function outside the ones this module is judged on
        result.counts[status] = result.counts.get(status, 0) + 1
        if status not in ("killed", "timeout", "skipped"):  # survived, or "not checked": no test reached it
            result.survivors.append((name, diff))
    return result


def report(results: list[Result], jobs: int, named: list[tuple[str, str, str]] | None = None) -> str:
    lines = [
        "# Mutation testing of the safety core",
        "",
        "Written by `python -m scripts.mutation` (mutmut; see the script for the test files each module runs).",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {jobs} mutant(s) at a time, nice 19,",
        f"on a machine of {os.cpu_count()} cores shared with other work: the times are upper bounds.",
        "",
        "Score = killed / (mutants - equivalent). Target: at least 90 % per module.",
        "",
        "| module | mutants | killed | survived | equivalent | score | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error and not r.counts:
            lines.append(f"| {r.module} | - | - | - | - | not run: {r.error} | {r.seconds:.0f} s |")
            continue
        lines.append(
            f"| {r.module} | {r.total} | {r.killed} | {len(r.survivors)} | {r.equivalent} | "
            f"{100 * r.score:.1f} % | {r.seconds:.0f} s |"
        )
    lines.append(f"\nTotal time: {sum(r.seconds for r in results):.0f} s.")
    lines += [
        "",
        "What each module is judged on (the functions that decide; all of the module where none are named):",
        "",
    ]
    for r in results:
        target = MODULES[r.module]
        scope = ", ".join(f.removesuffix("_*").removesuffix("*") for f in target.functions) or "every function"
        lines.append(f"- {r.module} (`{target.source}`): {scope}; tests: {', '.join(target.tests)}")
    if named:
        lines += [
            "",
            "## The five that survived before",
            "",
            "Each made by hand (its line replaced by `if False:`, `if True:` or `busy = False`), then its tests run:",
            "",
            "| mutant | now | tests (in tests/unit/test_safety_mutants.py unless named) |",
            "|---|---|---|",
        ]
        lines += [f"| {what} | {status} | {tests} |" for what, status, tests in named]
    for r in results:
        if r.error:
            lines.append(f"\n{r.module}: {r.error}")
        if not r.survivors:
            continue
        lines += ["", f"## Survivors in {r.module}", ""]
        for name, diff in r.survivors:
            why = why_equivalent(r.module, diff) or "NOT EXPLAINED: needs a test"
            lines += [f"- `{name}`: {why}", "", "```diff", diff[-1500:], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"among {', '.join(MODULES)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for the whole run")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    chosen = args.modules or list(MODULES)
    unknown = [m for m in chosen if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {unknown[0]!r}; known: {', '.join(MODULES)}")
    results: list[Result] = []
    end = time.monotonic() + args.budget
    for module in chosen:
        left = max(30.0, end - time.monotonic())
        results.append(run_module(module, args.jobs, left))
        print(report(results[-1:], args.jobs).split("\n|---|")[1].splitlines()[1], flush=True)
    named = None if args.modules else run_named()  # with every module only: the report is the full one
    args.report.write_text(report(results, args.jobs, named), encoding="utf-8")
    print(f"report: {args.report}")
    below = [
        r.module for r in results if r.score < TARGET or any(not why_equivalent(r.module, d) for _, d in r.survivors)
    ]
    return 1 if below or any(status != "killed" for _, status, _ in named or []) else 0


if __name__ == "__main__":
    sys.exit(main())
