#!/usr/bin/env python3
"""A small mutation check: does a test fail when the code it guards is changed a little?

For each target below — a module, the functions of it that matter, and the tests that should
notice — every *mutant* is made by changing one node of one function's syntax tree (``==``
becomes ``!=``, ``and`` becomes ``or``, a ``.filter(…)`` loses a condition, a ``raise`` goes,
…). The target's tests then run against the mutant: a failure (or a run that does not end in
time) *kills* it; a mutant the tests pass with *survives*, and names a change of behaviour no
test notices. A mutant that cannot change behaviour is *equivalent*: it belongs in
``EQUIVALENT`` with the reason, keyed by what it changes rather than by line number.

Only the mutated function's lines of the file are replaced (``ast.unparse`` of the changed
function, comments lost there); the rest of the file stays byte for byte. The file is always
written back as it was, and a file with uncommitted changes is refused, so nothing can be lost.

    scripts/mutation.py                    # every target; non-zero exit if a mutant survives
    scripts/mutation.py --target engine    # one target (repeatable)
    scripts/mutation.py --list             # the mutants, without running anything
"""

import argparse
import ast
import copy
import difflib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: One database for every run of the check, created once (pytest-django's --reuse-db) and
#: dropped at the end: a fresh one per mutant would cost seconds each.
DATABASE = "test_portal_mutation"
#: A mutant's tests may run this many times as long as the unmutated ones before it counts as
#: killed (a mutant that loops forever is caught, not waited for).
TIMEOUT_FACTOR = 10


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    #: Qualified names (``Class.method``) of the functions to mutate; None: every function.
    #: ``"name: text"`` mutates only the statement of the function that begins with ``text``
    #: (the ownership check of a function that mostly does other things).
    functions: tuple[str, ...] | None
    #: The pytest arguments that select the tests that should kill them, fastest-to-fail first.
    tests: tuple[str, ...]


TARGETS = [
    Target("engine", "applications/engine.py", None, ("tests/test_engine.py",)),
    # Pure rules with tests of their own: the database tests would run first (pytest-django
    # runs the tests that need no database last), for nothing.
    Target(
        "department-reports",
        "applications/services.py",
        ("_steps_towards", "retry_delay"),
        ("tests/test_dispatch_rules.py",),
    ),
    Target(
        "service-rules",
        "applications/services.py",
        ("_deadline", "_working_days", "_time_taken", "checked_results"),
        (
            "tests/test_workbench.py::test_the_clock_stops_while_a_supplement_is_awaited",
            "tests/test_api.py::test_submitting_in_late_december_flags_a_2027_deadline_instead_of_crashing",
            "tests/test_callbacks.py::test_scalar_outputs_of_every_kind_are_taken",
            "tests/test_acting_for.py::test_a_founder_becomes_the_new_enterprise_s_agent_when_the_licence_is_issued",
            "tests/test_acting_for.py::test_a_licence_may_not_name_an_established_enterprise",
        ),
    ),
    Target(
        "service-access",
        "applications/services.py",
        (
            "subtasks_for_staff",
            "submit",
            "_enterprise_for",
            "_as_enterprise",
            # The ownership checks of services that mostly do other things.
            "withdraw: if application.applicant_id != user.pk",
            "supply_supplement: if application.applicant_id != user.pk",
            "set_tracking_number: if not user.is_superuser",
            "staff_action: application_id = ",
            "retry_failed: application_id = ",
        ),
        (
            "tests/test_api.py::test_the_services_refuse_another_s_application_whoever_calls_them",
            "tests/test_acting_for.py::test_a_pending_mandate_files_nothing_in_the_enterprise_s_name",
            "tests/test_api.py::test_staff_see_only_their_department_and_transitions_are_checked",
            "tests/test_acting_for.py::test_an_agent_of_several_enterprises_names_the_one_filed_for",
            "tests/test_acting_for.py::test_the_form_names_the_proven_enterprise_whatever_is_typed",
            "tests/test_api.py::test_staff_send_a_failed_part_again_or_take_it_over_and_no_other_department_can",
            "tests/test_workbench.py::test_a_clerk_sees_and_acts_only_on_their_department_by_page_and_api",
            "tests/test_workbench.py::test_receipt_and_completion_notice_are_pdfs_with_chinese_text",
            "tests/test_workbench.py::test_staff_record_the_tracking_number_of_a_mailed_result",
            "tests/test_workbench.py::test_a_walk_in_with_a_material_to_follow_and_the_citizen_supplying_it",
            "tests/test_acting_for.py::test_the_recorded_legal_representative_confirms_an_agent_online",
            "tests/test_acting_for.py::test_a_founder_becomes_the_new_enterprise_s_agent_when_the_licence_is_issued",
        ),
    ),
    Target(
        "api-access",
        "applications/api.py",
        (
            "ApplicationViewSet.get_queryset",
            "IsDepartmentStaff.has_permission",
            "SubTaskViewSet.get_queryset",
        ),
        (
            "tests/test_api.py::test_staff_see_only_their_department_and_transitions_are_checked",
            "tests/test_api.py::test_staff_filter_their_parts_by_status_and_an_unknown_status_is_named",
            "tests/test_api.py::test_another_citizen_gets_404_everywhere",
            "tests/test_api.py::test_an_application_is_read_in_the_same_number_of_queries_whatever_its_parts",
            "tests/test_api.py::test_register_then_token_then_authenticated_call",
        ),
    ),
    Target(
        "views-access",
        "applications/views.py",
        ("my_applications", "_own", "certificate", "download_upload"),
        (
            "tests/test_portal.py::test_another_citizen_never_sees_or_changes_an_application_upload_or_message",
            "tests/test_portal.py::test_uploads_are_served_to_their_owner_and_the_departments_handling_them",
            "tests/test_portal.py::test_the_certificate_is_a_pdf_with_the_part_s_results",
            "tests/test_portal.py::test_pages_do_a_bounded_number_of_queries_whatever_the_number_of_applications",
        ),
    ),
    Target(
        "department-view",
        "applications/department_view.py",
        None,
        (
            "tests/test_portal.py::test_uploads_are_served_to_their_owner_and_the_departments_handling_them",
            "tests/test_portal.py::test_another_citizen_never_sees_or_changes_an_application_upload_or_message",
            "tests/test_privacy.py",
            "tests/test_workbench.py::test_personal_data_is_masked_and_every_full_view_is_recorded",
        ),
    ),
    Target(
        "mandate-rules",
        "accounts/models.py",
        (
            "Enterprise.is_legal_rep",
            "Enterprise.is_established",
            "User.is_department_staff",
            "User.is_centre_supervisor",
            "User.is_supervisor",
            "User.may_verify_mandates",
        ),
        ("tests/test_mandates.py", "tests/test_acting_for.py"),
    ),
    Target(
        "mandates",
        "accounts/services.py",
        (
            "verified_enterprises",
            "request_mandate",
            "awaiting_legal_rep",
            "answer_as_legal_rep",
            "verify_at_window",
            "revoke",
            "founding_conflict",
            "found_enterprise",
        ),
        ("tests/test_mandates.py", "tests/test_acting_for.py"),
    ),
    Target(
        "workbench-access",
        "workbench/views.py",
        (
            "staff_required",
            "_subtask",
            "_staff_application",
            "walk_in_done",
            "mandates",
            "mandate_decide",
        ),
        (
            "tests/test_mandates.py",
            "tests/test_workbench.py::test_a_clerk_sees_and_acts_only_on_their_department_by_page_and_api",
            "tests/test_workbench.py::test_receipt_and_completion_notice_are_pdfs_with_chinese_text",
            "tests/test_workbench.py::test_a_walk_in_with_a_material_to_follow_and_the_citizen_supplying_it",
            "tests/test_workbench.py::test_claiming_and_acting_with_reasons_outputs_and_supplements",
            "tests/test_acting_for.py::test_a_market_regulation_clerk_verifies_at_the_window",
        ),
    ),
    Target(
        "workbench-services",
        "workbench/services.py",
        ("staff_can_see_application", "claim"),
        (
            "tests/test_workbench.py::test_claiming_and_acting_with_reasons_outputs_and_supplements",
            "tests/test_workbench.py::test_a_clerk_sees_and_acts_only_on_their_department_by_page_and_api",
            "tests/test_workbench.py::test_receipt_and_completion_notice_are_pdfs_with_chinese_text",
        ),
    ),
]

#: Mutants that cannot be killed because they change no behaviour, by stable id (see
#: Mutant.key), each with the reason.
EQUIVALENT: dict[str, str] = {
    (
        "accounts/services.py:found_enterprise:drop-condition:"
        "get_or_create(… defaults={'name': name[:100]} …)"
    ): "the next statement sets the name to name[:100] (or keeps the one there) before saving",
    "applications/department_view.py:reveal:constant:path[:200] → path[:201]": (
        "a path that names an identifier is a field key (64 characters at most), a row number and"
        " a sub-field key: never 200 characters long"
    ),
    "applications/department_view.py:case_order_form:constant:path[:200] → path[:201]": (
        "the paths are identifier_paths() of the item's fields: never 200 characters long"
    ),
    (
        "applications/department_view.py:uploads_visible_to:constant:"
        "user.departments.values_list('pk', flat=True) → "
        "user.departments.values_list('pk', flat=False)"
    ): "department__in= takes one-value rows as the ids themselves (Django normalises them)",
    (
        "applications/services.py:subtasks_for_staff:constant:"
        "user.departments.values_list('pk', flat=True) → "
        "user.departments.values_list('pk', flat=False)"
    ): "department__in= takes one-value rows as the ids themselves (Django normalises them)",
}


# --- making mutants ----------------------------------------------------------------------------
COMPARISON_FLIPS = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
#: The flips above that are the comparison's negation (``<`` ↔ ``<=`` is not).
NEGATIONS = {ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot}
#: Calls that narrow a query (or a lookup): each keyword argument is a condition to drop.
QUERY_CALLS = {"filter", "exclude", "get", "get_object_or_404", "get_or_create"}
#: Calls that narrow a queryset: the call as a whole may go (``x.filter(…)`` → ``x``).
NARROWING_CALLS = {"filter", "exclude"}


def called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def short(node: ast.AST, limit: int = 70) -> str:
    """One line of source for a node, as the description of a change."""
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mutations(node: ast.AST, docstring: ast.AST | None, memberships: set[int]):
    """The ways to change ``node`` alone: (operator, description, change) where ``change``
    takes a copy of the node and returns what replaces it. ``memberships``: the ids of the
    literal collections that say what a value must be one of."""
    if id(node) in memberships and len(node.elts) > 1:
        for i, element in enumerate(node.elts):

            def without(n, i=i):
                del n.elts[i]
                return n

            yield "drop-element", f"{short(node, 50)} without {short(element)}", without
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARISON_FLIPS:

                def flip(n, i=i):
                    n.ops[i] = COMPARISON_FLIPS[type(n.ops[i])]()
                    return n

                yield "comparison", None, flip
    elif isinstance(node, ast.BoolOp):

        def swap(n):
            n.op = ast.Or() if isinstance(n.op, ast.And) else ast.And()
            return n

        yield "boolean", None, swap
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not", None, lambda n: n.operand
    elif isinstance(node, ast.If | ast.IfExp):
        # `if not x` loses its `not`, `if a == b` becomes `if a != b` (above): negating
        # them too would make the same program twice.
        test = node.test
        if not (
            (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not))
            or (
                isinstance(test, ast.Compare)
                and len(test.ops) == 1
                and type(test.ops[0]) in NEGATIONS
            )
        ):

            def negate(n):
                n.test = ast.UnaryOp(ast.Not(), n.test)
                return n

            yield "negate-if", f"if {short(node.test)}", negate
    elif isinstance(node, ast.Constant) and node is not docstring:
        if isinstance(node.value, bool):
            yield "constant", None, lambda n: ast.Constant(not n.value)
        elif isinstance(node.value, int | float):
            yield "constant", None, lambda n: ast.Constant(n.value + 1)
    elif isinstance(node, ast.Call):
        name = called_name(node)
        if name in QUERY_CALLS:
            for i, keyword in enumerate(node.keywords):
                if keyword.arg is None:
                    continue

                def drop(n, i=i):
                    del n.keywords[i]
                    return n

                yield "drop-condition", f"{name}(… {short(keyword)} …)", drop
        if name in NARROWING_CALLS and isinstance(node.func, ast.Attribute):
            yield (
                "drop-call",
                f".{name}({', '.join(short(a) for a in [*node.args, *node.keywords])})",
                (lambda n: n.func.value),
            )
        if name in ("any", "all") and isinstance(node.func, ast.Name):

            def other(n):
                n.func = ast.Name("all" if n.func.id == "any" else "any", ast.Load())
                return n

            yield "any-all", None, other
    elif isinstance(node, ast.Return):
        # Not for a tuple: its caller unpacks it, and None fails at once, which tells nothing.
        if node.value is not None and not (
            (isinstance(node.value, ast.Constant) and node.value.value is None)
            or isinstance(node.value, ast.Tuple)
        ):
            yield (
                "return-none",
                f"return {short(node.value)}",
                (lambda n: ast.Return(ast.Constant(None))),
            )
    elif isinstance(node, ast.Raise):
        yield "no-raise", short(node), lambda n: ast.Pass()
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield "no-call", short(node), lambda n: ast.Pass()


@dataclass
class Mutant:
    target: str
    path: str
    function: str
    operator: str
    description: str
    #: Stable across edits elsewhere: file, function, operator and what changes, plus a
    #: number when the same change is possible at several places of one function.
    key: str
    source: str
    diff: str


def units_of(tree: ast.Module) -> dict[str, ast.stmt]:
    """What can be mutated, by qualified name: every function and method of the module
    (nested ones are part of the function they are in) and every assignment of a module-level
    name (``REACHED = [...]``)."""
    found = {}

    def walk(body, prefix):
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[prefix + node.name] = node
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")
            elif not prefix and isinstance(node, ast.Assign | ast.AnnAssign):
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                if isinstance(target, ast.Name):
                    found[target.id] = node

    walk(tree.body, "")
    return found


def membership_literals(unit: ast.stmt) -> set[int]:
    """The literal lists, sets and tuples in ``unit`` that say what a value must be one of:
    the right of ``in``, a ``…__in=`` condition, a module-level constant."""
    literals = (ast.List, ast.Set, ast.Tuple)
    found = set()
    if isinstance(unit, ast.Assign | ast.AnnAssign) and isinstance(unit.value, literals):
        found.add(id(unit.value))
    for node in ast.walk(unit):
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and isinstance(right, literals):
                    found.add(id(right))
        elif (
            isinstance(node, ast.keyword)
            and (node.arg or "").endswith("__in")
            and isinstance(node.value, literals)
        ):
            found.add(id(node.value))
    return found


def replace_child(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise AssertionError("node not found under its parent")


def splice(text: str, function: ast.FunctionDef, new_function: ast.AST) -> str:
    """``text`` with the lines of ``function`` (decorators too) replaced by ``new_function``,
    unparsed at the original's indentation."""
    lines = text.splitlines(keepends=True)
    decorators = getattr(function, "decorator_list", [])
    start = min([function.lineno, *(d.lineno for d in decorators)]) - 1
    body = "".join(line + "\n" for line in unparse(new_function, function.col_offset))
    return "".join(lines[:start]) + body + "".join(lines[function.end_lineno :])


def unparse(function: ast.AST, col_offset: int = 0) -> list[str]:
    """The function's source lines, indented by ``col_offset``: unparsed inside as many
    ``if 1:`` as that takes, so that lines within a docstring keep their text exactly."""
    depth, rest = divmod(col_offset, 4)
    if rest:
        raise SystemExit("only functions indented by multiples of four spaces can be mutated")
    node = ast.fix_missing_locations(function)
    for _level in range(depth):
        node = ast.If(ast.Constant(1), [node], [])
    return ast.unparse(ast.Module([node], [])).splitlines()[depth:]


def make_mutants(target: Target) -> list[Mutant]:
    # A file with changes of its own (a mutant left by a run still going, say) is not the
    # code to mutate.
    check_clean(target.path)
    text = (ROOT / target.path).read_text(encoding="utf-8")
    tree = ast.parse(text)
    found = units_of(tree)
    entries = list(found) if target.functions is None else list(target.functions)
    missing = [e for e in entries if e.partition(": ")[0] not in found]
    if missing:
        raise SystemExit(f"{target.name}: no function {', '.join(missing)} in {target.path}")
    same_tree = ast.dump(tree)
    mutants: list[Mutant] = []
    for entry in entries:
        name, _, statement = entry.partition(": ")
        function = found[name]
        only = None
        if statement:
            chosen = next(
                (
                    node
                    for node in ast.walk(function)
                    if isinstance(node, ast.stmt)
                    and node is not function
                    and ast.unparse(node).startswith(statement)
                ),
                None,
            )
            if chosen is None:
                raise SystemExit(f"{target.name}: no statement {statement!r} in {name}")
            only = {id(node) for node in ast.walk(chosen)}
        original = unparse(function)
        # The unmutated function, unparsed and spliced back, must be the same program: else
        # every mutant would differ by more than its one change.
        if ast.dump(ast.parse(splice(text, function, copy.deepcopy(function)))) != same_tree:
            raise SystemExit(f"{target.path}: {name} does not survive ast.unparse unchanged")
        body = getattr(function, "body", [])
        docstring = (
            body[0].value
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            else None
        )
        nodes = list(ast.walk(function))
        memberships = membership_literals(function)
        seen_keys: Counter = Counter()
        seen_sources = set()
        for index, node in enumerate(nodes):
            if only is not None and id(node) not in only:
                continue
            for operator, what, change in mutations(node, docstring, memberships):
                mutated = copy.deepcopy(function)
                twin = list(ast.walk(mutated))[index]
                parents = {
                    child: parent
                    for parent in ast.walk(mutated)
                    for child in ast.iter_child_nodes(parent)
                }
                # A constant is told by where it is: `flat=True`, `path[:200]`.
                shown = twin
                if operator == "constant" and twin in parents:
                    shown = parents[twin]
                    while isinstance(shown, ast.Slice | ast.keyword | ast.UnaryOp) and (
                        shown in parents
                    ):
                        shown = parents[shown]
                before = short(shown) if what is None else what
                replacement = change(twin)
                if twin is mutated:
                    mutated = replacement
                elif replacement is not twin:
                    replace_child(parents[twin], twin, replacement)
                changed = unparse(mutated)
                if changed == original or tuple(changed) in seen_sources:
                    continue  # no change at all, or the same as an earlier mutant
                seen_sources.add(tuple(changed))
                after = short(replacement if shown is twin else shown) if what is None else None
                description = before if after is None else f"{before} → {after}"
                base = f"{target.path}:{name}:{operator}:{description}"
                seen_keys[base] += 1
                key = base if seen_keys[base] == 1 else f"{base} #{seen_keys[base]}"
                diff = "".join(
                    difflib.unified_diff(
                        [line + "\n" for line in original],
                        [line + "\n" for line in changed],
                        f"{target.path} {name}",
                        "mutant",
                        n=2,
                    )
                )
                mutants.append(
                    Mutant(
                        target.name,
                        target.path,
                        name,
                        operator,
                        description,
                        key,
                        splice(text, function, mutated),
                        diff,
                    )
                )
    return mutants


# --- running them ------------------------------------------------------------------------------
def pytest(target: Target, timeout: float | None) -> tuple[str, float, str]:
    """Run the target's tests: "passed", "failed" or "timeout", the time taken, and the
    first test that failed."""
    env = {
        **os.environ,
        "PORTAL_TEST_DATABASE": DATABASE,
    }
    command = [
        PYTHON,
        "-m",
        "pytest",
        *target.tests,
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reuse-db",
        # The same examples every run: a mutant is killed or not, never by luck.
        "--hypothesis-seed=0",
    ]
    started = time.monotonic()
    # A session of its own: a run past its time is ended with everything it started.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return "timeout", time.monotonic() - started, ""
    except BaseException:  # interrupted: the run's tests end with it
        os.killpg(process.pid, signal.SIGKILL)
        raise
    taken = time.monotonic() - started
    if process.returncode == 0:
        return "passed", taken, ""
    text = output.decode(errors="replace")
    if timeout is None:  # the baseline: say why
        sys.stdout.write(text[-3000:])
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", text, re.MULTILINE)
    return "failed", taken, failed.group(1) if failed else f"pytest exit {process.returncode}"


_last_stamp = 0


def stamp(path: Path) -> None:
    """Give a mutant a modification time no other content of the file has had.

    Python reuses a compiled file (``__pycache__``) whose recorded source time, in whole
    seconds, and size match: a mutant written within the second of another of the same size
    would run as the other. Not writing compiled files at all would avoid that, but then pytest
    rewrites the asserts of some 250 modules afresh in every run, two seconds each time.
    """
    global _last_stamp
    _last_stamp = max(int(time.time()), _last_stamp + 1)
    os.utime(path, (_last_stamp, _last_stamp))


def check_clean(path: str) -> None:
    changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path], cwd=ROOT).returncode
    if changed:
        raise SystemExit(f"{path} has uncommitted changes: commit or stash them first")


def run_target(target: Target, mutants: list[Mutant]) -> dict:
    global _last_stamp
    path = ROOT / target.path
    check_clean(target.path)  # again: a file may have been changed since the mutants were made
    print(f"\n== {target.name}: {len(mutants)} mutants of {target.path}", flush=True)
    outcome, baseline, _ = pytest(target, None)
    if outcome != "passed":
        raise SystemExit(f"{target.name}: the tests fail without any mutant")
    timeout = max(TIMEOUT_FACTOR * baseline, 30)
    print(f"   tests pass unmutated in {baseline:.1f}s; a mutant's limit: {timeout:.0f}s")
    original = path.read_bytes()
    stat = path.stat()
    _last_stamp = max(_last_stamp, int(stat.st_mtime))  # nor the original's time
    result = {"killed": 0, "equivalent": 0, "survived": [], "unkilled_equivalent": []}
    started = time.monotonic()
    try:
        for number, mutant in enumerate(mutants, start=1):
            path.write_text(mutant.source, encoding="utf-8")
            stamp(path)
            outcome, taken, by = pytest(target, timeout)
            path.write_bytes(original)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            killed = outcome != "passed"
            mark = "killed" if killed else "SURVIVED"
            if not killed and mutant.key in EQUIVALENT:
                mark = "equivalent"
            print(f"   [{number}/{len(mutants)}] {mark:10} {taken:5.1f}s  {mutant.key}", flush=True)
            if killed:
                print(f"{'':22}by {by or outcome}", flush=True)
            if killed:
                result["killed"] += 1
                if mutant.key in EQUIVALENT:
                    # Listed as equivalent, yet a test tells it apart: the list is wrong.
                    result["unkilled_equivalent"].append(mutant)
            elif mutant.key in EQUIVALENT:
                result["equivalent"] += 1
            else:
                result["survived"].append(mutant)
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    result["seconds"] = time.monotonic() - started + baseline
    return result


def drop_database() -> None:
    """The check's test database, once every target has run (it is created again next time)."""
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", action="append", help="run this target only (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = parser.parse_args()
    by_name = {target.name: target for target in TARGETS}
    unknown = set(args.target or ()) - set(by_name)
    if unknown:
        parser.error(f"no target {', '.join(sorted(unknown))}; there are: {', '.join(by_name)}")
    chosen = [by_name[name] for name in args.target] if args.target else TARGETS
    made = {target.name: make_mutants(target) for target in chosen}
    keys = {mutant.key for mutants in made.values() for mutant in mutants}
    if args.list:
        for target in chosen:
            print(f"{target.name} ({len(made[target.name])} mutants; {' '.join(target.tests)})")
            for mutant in made[target.name]:
                flag = "  [equivalent]" if mutant.key in EQUIVALENT else ""
                print(f"  {mutant.key}{flag}")
        return 0
    # A previous run killed by a signal still restores the files (the finally above).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = {}
    try:
        for target in chosen:
            results[target.name] = run_target(target, made[target.name])
    finally:
        drop_database()

    print("\n== mutation check")
    print(
        f"   {'target':24} {'mutants':>7} {'killed':>6} {'equiv.':>6} {'survived':>8}  rate   time"
    )
    failed = False
    for name, result in results.items():
        total = len(made[name])
        survived = len(result["survived"])
        killable = total - result["equivalent"]
        rate = result["killed"] / killable if killable else 1.0
        print(
            f"   {name:24} {total:7} {result['killed']:6} {result['equivalent']:6} "
            f"{survived:8}  {rate:5.1%} {result['seconds'] / 60:5.1f}m"
        )
        failed |= bool(survived or result["unkilled_equivalent"])
    for result in results.values():
        for mutant in result["survived"]:
            print(f"\nSURVIVED {mutant.key}\n{mutant.diff}")
        for mutant in result["unkilled_equivalent"]:
            print(f"\nKILLED, yet listed as equivalent: {mutant.key}")
    if not args.target:
        stale = sorted(set(EQUIVALENT) - keys)
        for key in stale:
            print(f"\nEQUIVALENT lists a mutant there no longer is: {key}")
        failed |= bool(stale)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
