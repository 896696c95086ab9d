"""results: a Grade written for its readers: the table and report a student reads,
results.json (Gradescope's schema), junit.xml, grades.csv; every file written atomically.
"""
from __future__ import annotations

import csv
import io
import json
import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from .explain import EXPLANATIONS
from .i18n import N_, _
from .grades import COMPILE_PROBLEMS, FAILED, NOT_RUN, PASSED, Grade, lost
from .report import cut as _cut, first_warning, one_line as _one_line

PROBLEMS = {"missing": N_("missing"), "did_not_compile": N_("did not compile"),
            "program_too_large": N_("program too large")}     # a lab's problem, in the summary

def replay(grade: Grade) -> str:
    return f"SEED={grade.seed}"


def _wrapped(head: str, text: str, width: int, most: int = 4) -> list:
    """text after head, wrapped under itself, on at most `most` lines (the rest is in the
    details and in grade.txt)."""
    lines = textwrap.wrap(text, max(40, width - len(head)), break_on_hyphens=False) or [""]
    if len(lines) > most:
        lines = lines[:most - 1] + [_cut(lines[most - 1], max(40, width - len(head)) - 1) + "\u2026"]
    return [head + lines[0], *(" " * len(head) + line for line in lines[1:])]


FOLDED = (("  = ", N_("lines as expected")), ("  - ", N_("more lines missing")),
          ("  FAIL ", N_("more checks failed")))


def brief(text: str, keep: int = 2) -> str:
    """A failure's report with each run of alike lines (matched output "  = ", missing lines
    "  - ", failed checks) longer than 2 * keep + 1 folded to its first and last `keep`
    lines: the differences stay in view."""
    out, run, kind = [], [], None

    def flush():
        if len(run) > 2 * keep + 1:
            indent = run[0][:len(run[0]) - len(run[0].lstrip())]
            out.extend(run[:keep] + [f"{indent}... {len(run) - 2 * keep} {_(kind[1])}"] + run[-keep:])
        else:
            out.extend(run)
        run.clear()

    for line in text.split("\n"):
        alike = next((k for k in FOLDED if line.startswith(k[0])), None)
        if alike is not kind:
            flush()
            kind = alike
        if alike is None:
            out.append(line)
        else:
            run.append(line)
    flush()
    return "\n".join(out)


def table(grade: Grade, width: int = 110) -> str:
    """Per lab: each case, its points, its status and, when it failed, what happened and the
    hint; an explanation or a hint already given in the lab is not given again."""
    out = []
    for lab in grade.labs:
        out.append(f"{lab.lab}: {lab.points}/{lab.max_points} - {lab.title}")
        if lab.problem:
            out.append(f"  {lab.cases[0].reason}")
            names = ", ".join(c.name + (_(" (hidden)") if c.hidden else "") for c in lab.cases)
            out += _wrapped("  " + _("not run: "), f"{names} ({lab.cases[0].meaning})", width)
            out.append("")
            continue
        if lab.warnings:
            out.append("  " + _("the compiler warns (no points lost, but read it):")
                       + f" {first_warning(lab.warnings)}")
        words = _("case"), _("points"), _("status"), _("what happened")
        out.append(f"  {words[0]:<28} {words[1]:>6}  {words[2]:<8} {words[3]}")
        said = set()
        for c in lab.cases:
            name = c.name + (_(" (hidden)") if c.hidden else "")
            status = _("FAILED") if c.status == FAILED else _(c.status)
            head = f"  {name:<28} {f'{c.points}/{c.max_points}':>6}  {status:<8} "
            if c.status == PASSED:
                out.append(head.rstrip())
                continue
            parts = [c.reason]
            if c.status == FAILED:
                if c.said:
                    parts.append(_("it said: {said}").format(said=c.said))
                if c.outcome_wrong and c.meaning not in said:
                    parts.append(c.meaning)
                    said.add(c.meaning)
                hint = _one_line(c.hint)
                if hint and hint not in said:
                    parts.append(_("hint: {hint}").format(hint=hint))
                    said.add(hint)
                elif hint:
                    parts.append(_("hint: as above"))
            out += _wrapped(head, " -- ".join(parts), width)
        out.append("")
    return "\n".join(out)


def details(grade: Grade, every: bool = True) -> str:
    """The full explanation of the failures: compile errors once per lab, then each failed
    case; every=False, only the first failure of each lab, the others named."""
    out = []
    for lab in grade.labs:
        if lab.problem in COMPILE_PROBLEMS:
            out.append("---- " + _("{lab}.c does not compile").format(lab=lab.lab)
                       + f" (0/{lab.max_points})\n{lab.message}")
            continue
        if lab.warnings and every:
            out.append("---- " + _("{lab}.c compiles, with warnings (no points lost)").format(lab=lab.lab)
                       + f"\n{lab.warnings}")
        failed = [c for c in lab.cases if c.status == FAILED]
        for c in failed if every else failed[:1]:
            out.append(f"---- {c.id} (0/{c.max_points})\n{c.output if every else brief(c.output)}")
        if not every and len(failed) > 1:
            out.append(f"---- {lab.lab}: " + _("also failed, each in the table above:")
                       + f" {', '.join(c.name for c in failed[1:])}")
    return "\n\n".join(out)


def summary(grade: Grade) -> str:
    """One line per lab, then the score: the last thing a student reads."""
    width = max(len(lab.lab) for lab in grade.labs) if grade.labs else 0
    lines = []
    for lab in grade.labs:
        lost = [c.name for c in lab.cases if c.points < c.max_points]
        why = _(PROBLEMS.get(lab.problem, lab.problem)) if lab.problem else \
            (_("full marks") if not lost else _("lost: {cases}").format(cases=", ".join(lost)))
        lines.append(f"  {lab.lab:<{width}}  {f'{lab.points}/{lab.max_points}':>6}  {_cut(why, 80)}")
    return "\n".join(lines)


def header(grade: Grade) -> str:
    lines = [_("vmlabs grade: {folder} ({student})").format(folder=grade.folder, student=grade.student),
             _("random inputs: seed {seed} ({replay} replays them)").format(seed=grade.seed,
                                                                          replay=replay(grade))]
    if grade.sandbox:
        lines.append(_("compiled and run in: {sandbox}").format(sandbox=grade.sandbox))
    lines += [_("note: {note}").format(note=n) for n in grade.notes]
    return "\n".join(lines)


REPORT_LINES = 150      # the short report's length, at the most, unless one lab's failure needs more


def digest(grade: Grade, width: int = 110) -> list:
    """The short table: per lab that lost points, one line per failed case (what happened,
    and what the program said last), one naming the cases not run and one the cases passed.
    A lab at full marks is left to the summary."""
    out = []
    for lab in grade.labs:
        if lab.warnings:
            out.append(_cut(f"{lab.lab}: " + _("the compiler warns (no points lost, but read it):")
                            + f" {first_warning(lab.warnings)}", width))
        if lab.points == lab.max_points:
            continue
        if lab.problem:         # missing, or no program: every case not run, said in one line
            out.append(_cut(f"{lab.lab}: 0/{lab.max_points} - {_one_line(lab.cases[0].reason)}", width))
            continue
        out.append(f"{lab.lab}: {lab.points}/{lab.max_points} - {lab.title}")
        failed = [c for c in lab.cases if c.status == FAILED]
        column = max(len(c.name) + 9 * c.hidden for c in failed) if failed else 0
        for c in failed:
            name = c.name + (_(" (hidden)") if c.hidden else "")
            said = " -- " + _("it said: {said}").format(said=c.said) if c.said else ""
            out.append(_cut(f"  {name:<{column}} {f'{c.points}/{c.max_points}':>5}  "
                            f"{_one_line(c.reason)}{said}", width))
        rest = [words + ", ".join(names) for words, names in (
            (_("not run (each needs a case that did not pass): "),
             [c.name for c in lab.cases if c.status == NOT_RUN]),
            (_("passed: "), [c.name for c in lab.cases if c.status == PASSED])) if names]
        if rest:                # wrapped, never cut: every case is named
            out += textwrap.wrap("; ".join(rest), width, initial_indent="  ", subsequent_indent="    ",
                                 break_on_hyphens=False)
    return out


def first_failures(grade: Grade, room: int) -> tuple:
    """The first failure of each lab, in full but folded (brief), while they fit in room
    lines (the first always does); and the labs whose failure did not fit."""
    shown, left = [], []
    for lab in grade.labs:
        if lab.problem in COMPILE_PROBLEMS:
            message = lab.message.splitlines()
            if len(message) > 14:       # the command and the first errors: the rest follows from them
                message = message[:13] + [_("... {count} more lines (grade.txt has them)").format(
                    count=len(message) - 13)]
            text = "---- " + _("{lab}.c does not compile").format(lab=lab.lab) + \
                f" (0/{lab.max_points})\n" + "\n".join(message)
        else:
            failed = [c for c in lab.cases if c.status == FAILED]
            if not failed:
                continue
            head = f"---- {failed[0].id} (0/{failed[0].max_points})\n"
            text = head + brief(failed[0].output)
            if not shown and text.count("\n") + 2 > room:     # the first, folded closer to fit
                text = head + brief(failed[0].output, keep=1)
        lines = text.count("\n") + 2
        if shown and lines > room:
            left.append(lab.lab)
            continue
        shown.append(text)
        room -= lines
    return shown, left


def text_report(grade: Grade, with_details=True, every=True) -> str:
    """The header, the table, what went wrong, then one line per lab and the score.
    every: the full table and every failure (grade.txt, --details, V=1). Otherwise short:
    one line per failed case, then the first failure of each lab as long as the report stays
    within REPORT_LINES, the labs left out named."""
    closing = ([summary(grade), ""] if len(grade.labs) > 1 else []) + \
        [_("Score: {score}/{most}").format(score=grade.score, most=grade.max_score)]
    if every:
        parts = [header(grade), "", table(grade)]
        explained = details(grade) if with_details else ""
        if explained:
            parts += [_("What went wrong, case by case:"), "", explained, ""]
        return "\n".join(parts + closing) + "\n"
    parts = [header(grade), "", *digest(grade), ""]
    if with_details:
        used = sum(part.count("\n") + 1 for part in parts + closing) + 3
        shown, left = first_failures(grade, REPORT_LINES - used)
        if shown:
            parts += [_("What went wrong, the first failure of each lab:"), "", *shown]
            if left:
                parts.append(_("---- and in {labs}: make check LAB=name shows its first failure; every "
                               "failure in full: V=1 (--details), or grade.txt").format(labs=", ".join(left)))
            parts.append("")
    return "\n".join(parts + closing) + "\n"


def results_json(grade: Grade) -> dict:
    """Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/"""
    summary = [header(grade), ""]
    summary += [f"{lab.lab}: {lab.points}/{lab.max_points}"
                + (f" ({lab.problem}: {EXPLANATIONS[lab.problem]})" if lab.problem else "")
                + (f"\n  the compiler warns: {first_warning(lab.warnings)}" if lab.warnings else "")
                for lab in grade.labs]
    tests = []
    for i, lab in enumerate(grade.labs, 1):
        for j, c in enumerate(lab.cases, 1):
            output = c.output if c.status == PASSED else \
                f"{c.reason}\n{c.outcome}: {c.meaning}\nhint: {c.hint}\n\n{c.output}"
            tests.append({"name": c.id, "number": f"{i}.{j}", "score": c.points,
                          "max_score": c.max_points, "status": PASSED if c.status == PASSED else FAILED,
                          "output": output, "visibility": c.visibility, "tags": [lab.lab],
                          "extra_data": {"outcome": c.outcome, "meaning": c.meaning}})
    return {"score": grade.score, "max_score": grade.max_score,
            "execution_time": round(grade.seconds, 2), "output": "\n".join(summary),
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"student": grade.student, "seed": grade.seed, "notes": list(grade.notes),
                           "sandbox": grade.sandbox},
            "tests": tests}


def junit_xml(grade: Grade) -> str:
    root = ET.Element("testsuites", name=f"vmlabs {grade.student}", tests=str(len(grade.cases)),
                      failures=str(sum(c.status == FAILED for c in grade.cases)),
                      skipped=str(sum(c.status == NOT_RUN for c in grade.cases)),
                      time=f"{grade.seconds:.2f}")
    for lab in grade.labs:
        suite = ET.SubElement(root, "testsuite", name=lab.lab, tests=str(len(lab.cases)),
                              failures=str(sum(c.status == FAILED for c in lab.cases)),
                              skipped=str(sum(c.status == NOT_RUN for c in lab.cases)),
                              time=f"{lab.seconds:.2f}")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="points", value=f"{lab.points}/{lab.max_points}")
        ET.SubElement(props, "property", name="seed", value=str(grade.seed))
        for c in lab.cases:
            case = ET.SubElement(suite, "testcase", classname=lab.lab, name=c.name)
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="points", value=f"{c.points}/{c.max_points}")
            ET.SubElement(props, "property", name="outcome", value=c.outcome)
            if c.status == FAILED:
                ET.SubElement(case, "failure", message=c.reason, type="failed").text = c.output
            elif c.status == NOT_RUN:
                ET.SubElement(case, "skipped", message=c.reason).text = c.output
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """A CSV cell a spreadsheet shows as the text it is: a student's folder named
    =HYPERLINK(...) must not become a formula (OWASP's CSV injection advice: a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def grades_csv(grades, labs) -> str:
    """One row per student: the points of each lab and the total, then per lab what cost
    points, by outcome name; a spreadsheet opens it (the points come first, for importing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *(lab.name for lab in labs), "total",
                     *(f"{lab.name} lost" for lab in labs)])
    writer.writerow(["Points Possible", *(sum(c.points for c in lab.cases) for lab in labs),
                     sum(c.points for lab in labs for c in lab.cases), *("" for _ in labs)])
    for grade in sorted(grades, key=lambda g: g.student):
        by_lab = {lab.lab: lab for lab in grade.labs}
        writer.writerow([cell(grade.student), *(by_lab[lab.name].points if lab.name in by_lab else 0
                                          for lab in labs), grade.score,
                         *(lost(by_lab[lab.name]) if lab.name in by_lab else "" for lab in labs)])
    return buffer.getvalue()


def write_atomic(path: Path, text: str):
    """A reader never sees half a file: written beside it, then renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_grade(grade: Grade, out: Path, with_details=True):
    """results.json, junit.xml and grade.txt (the table and every failure) in out."""
    write_atomic(out / "results.json", json.dumps(results_json(grade), indent=1) + "\n")
    write_atomic(out / "junit.xml", junit_xml(grade))
    write_atomic(out / "grade.txt", text_report(grade, with_details))


def fail_results(path: Path, message: str):
    """A results.json that says why there is no grade, for Gradescope to show."""
    write_atomic(path, json.dumps({"score": 0, "max_score": 0, "execution_time": 0,
                                   "output": f"The autograder could not run: {message}",
                                   "visibility": "visible", "stdout_visibility": "hidden",
                                   "tests": []}, indent=1) + "\n")

