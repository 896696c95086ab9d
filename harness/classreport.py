"""classreport: a class's grades as one static page (make grade-all writes build/grade/report.html).

What an instructor reads after grading: how each lab's scores are spread, which cases the
class failed most (with their hints: what to teach again), and one row per student linking to
that student's page (STUDENT/details.html: every case, why it failed, the output). Plain HTML
and inline SVG: no script, nothing fetched from the network; it opens from the disk.
"""
from __future__ import annotations

import collections
import html
import time
import urllib.parse
from pathlib import Path

from .grades import COMPILE_PROBLEMS, FAILED, NOT_RUN, PASSED
from .results import write_atomic
from .explain import EXPLANATIONS

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1150px; color: #1b1f24; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; } table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; } td.num, th.num { text-align: right; white-space: nowrap; }
.full { background: #dafbe1; } .part { background: #fff8c5; } .zero { background: #ffebe9; }
.cards { display: flex; gap: 12px; margin: 12px 0; } .card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; }
.card b { display: block; font-size: 20px; } code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
.hint { color: #57606a; } .bar { fill: #0969da; } .axis { fill: #57606a; font: 10px sans-serif; }
.failed { color: #cf222e; font-weight: 600; } .notrun { color: #9a6700; } .passed { color: #1a7f37; }
a { color: #0969da; } table.cases { table-layout: fixed; } .wide { overflow-x: auto; } table.small { font-size: 12px; }
table.small td:last-child { min-width: 180px; }
"""


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def cell_class(points: int, most: int) -> str:
    return "full" if points == most else "zero" if points == 0 else "part"


def histogram(scores, most: int, width=260, height=64) -> str:
    """Inline SVG: how many students got each score (grouped in 10 bins past 12 points)."""
    bins = most + 1 if most <= 12 else 10
    counts = [0] * bins
    for s in scores:
        counts[min(bins - 1, s * bins // (most + 1)) if most else 0] += 1
    top = max(counts) or 1
    step = width / bins
    bars = []
    for i, n in enumerate(counts):
        low = i * (most + 1) // bins
        high = (i + 1) * (most + 1) // bins - 1
        label = f"{low}" if low == high else f"{low}-{high}"
        h = (height - 14) * n / top
        bars.append(f'<rect class="bar" x="{i * step + 1:.1f}" y="{height - 14 - h:.1f}" '
                    f'width="{step - 2:.1f}" height="{h:.1f}"><title>{n} student(s) with '
                    f'{label} points</title></rect>')
    bars.append(f'<text class="axis" x="0" y="{height - 2}">0</text>')
    bars.append(f'<text class="axis" x="{width}" y="{height - 2}" text-anchor="end">{most}</text>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="score distribution">{"".join(bars)}</svg>')


def most_failed(grades, labs):
    """Per case that anyone missed: (case, missed by, tried by, the most common reason among
    the runs that failed and how often, how many were not run). A lab not handed in or not
    compiling is counted apart: it says nothing of a case."""
    missed, not_run, tried = collections.Counter(), collections.Counter(), collections.Counter()
    reasons = collections.defaultdict(collections.Counter)
    for grade in grades:
        for lab in grade.labs:
            if lab.problem:
                continue
            for c in lab.cases:
                tried[c.id] += 1
                if c.status == FAILED:
                    missed[c.id] += 1
                    reasons[c.id][c.outcome, c.reason] += 1
                elif c.status == NOT_RUN:
                    missed[c.id] += 1
                    not_run[c.id] += 1
    by_id = {f"{lab.name}/{c.name}": c for lab in labs for c in lab.cases}
    rows = []
    for case_id, n in missed.items():
        reason, count = reasons[case_id].most_common(1)[0] if reasons[case_id] else (("", ""), 0)
        rows.append((by_id[case_id], n, tried[case_id], reason, count, not_run[case_id]))
    rows.sort(key=lambda r: (-r[1] / r[2], -(r[1] - r[5]), -r[0].points, r[0].id))
    return rows


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def changes_section(changes) -> list:
    """(previous, lines of regrade.compare): who gained or lost what since then."""
    since, lines = changes
    out = [f'<h2 id="changes">Changes since {esc(since)}</h2>']
    if not lines:
        return out + ["<p>No student's score or case changed.</p>"]
    out.append('<p class="meta">Old score -> new score, and each case whose outcome changed '
               '(the previous grading is kept in <code>grade.previous/</code>).</p><ul>')
    out += [f"<li><code>{esc(line)}</code></li>" for line in lines]
    return out + ["</ul>"]


def class_page(grades, labs, changes=None) -> str:
    n = len(grades)
    total = sum(c.points for lab in labs for c in lab.cases)
    scores = sorted(g.score for g in grades)
    median = scores[n // 2] if n else 0
    mean = sum(scores) / n if n else 0
    seed = grades[0].seed if grades else ""
    out = [f"<h1>vmlabs: class report</h1>",
           f'<p class="meta">{n} students, {len(labs)} labs, {total} points; graded '
           f'{esc(time.strftime("%Y-%m-%d %H:%M"))}; random inputs from seed {esc(seed)} '
           f'(<code>make grade-all SUBMISSIONS=... SEED={esc(seed)}</code> replays them); '
           f'compiled and run in: {esc(grades[0].sandbox if grades else "")}</p>',
           '<div class="cards">',
           f'<div class="card">median<b>{median}/{total}</b></div>',
           f'<div class="card">mean<b>{mean:.1f}/{total}</b></div>',
           f'<div class="card">full marks<b>{sum(s == total for s in scores)} of {n}</b></div>',
           f'<div class="card">all scores<b>{histogram(scores, total, 200, 40)}</b></div></div>']
    if changes is not None:
        out += changes_section(changes)

    out.append("<h2>Score distribution per lab</h2>")
    out.append('<table><tr><th>lab</th><th class="num">points</th><th class="num">median</th>'
               '<th class="num">full marks</th><th class="num">not handed in</th>'
               '<th class="num">does not compile</th><th>distribution (students per score)</th></tr>')
    for lab in labs:
        most = sum(c.points for c in lab.cases)
        got = sorted(next(l.points for l in g.labs if l.lab == lab.name) for g in grades)
        problems = collections.Counter(next(l.problem for l in g.labs if l.lab == lab.name) for g in grades)
        out.append(f'<tr><td><b>{esc(lab.name)}</b><br><span class="hint">{esc(lab.title)}</span></td>'
                   f'<td class="num">{most}</td><td class="num">{got[n // 2] if n else 0}</td>'
                   f'<td class="num">{sum(p == most for p in got)}</td>'
                   f'<td class="num">{problems["missing"]}</td>'
                   f'<td class="num">{sum(problems[p] for p in COMPILE_PROBLEMS)}</td>'
                   f'<td>{histogram(got, most)}</td></tr>')
    out.append("</table>")

    out.append("<h2>What the class missed most: teach these again</h2>")
    rows = most_failed(grades, labs)
    if not rows:
        out.append("<p>Every student who handed a lab in passed every case of it.</p>")
    else:
        out.append('<p class="meta">Among the students whose lab compiled. A case that was not '
                   'run (its parent case failed) counts as missed.</p>')
        out.append('<table><tr><th>case</th><th class="num">missed by</th><th class="num">points</th>'
                   '<th>what happened most often</th><th>the hint: the concept to re-teach</th></tr>')
        for case, missed, tried, reason, count, not_run in rows[:25]:
            outcome, reason = reason
            what = (f'<code>{esc(outcome)}</code> {esc(reason)} <span class="hint">({count}&times;)'
                    f'</span>' if reason else "")
            if not_run:
                what += (f'{"<br>" if reason else ""}<span class="hint">not run {not_run}&times;: '
                         f'needs {esc(case.parent)}</span>')
            out.append(f'<tr><td><code>{esc(case.id)}</code>{" (hidden)" if case.hidden else ""}</td>'
                       f'<td class="num">{missed} of {tried} ({100 * missed // max(tried, 1)}%)</td>'
                       f'<td class="num">{case.points}</td><td>{what}</td>'
                       f'<td class="hint">{esc(case.hint)}</td></tr>')
        out.append("</table>")

    out.append('<h2 id="students">Students</h2><div class="wide">')
    out.append('<table class="small"><tr><th>student</th>'
               + "".join(f'<th class="num">{esc(lab.name)}</th>' for lab in labs)
               + f'<th class="num">total ({total})</th><th>notes</th></tr>')
    for grade in grades:
        cells = []
        problems = collections.defaultdict(list)
        for lab in grade.labs:
            cells.append(f'<td class="num {cell_class(lab.points, lab.max_points)}">{lab.points}/{lab.max_points}</td>')
            if lab.problem:
                problems[lab.problem].append(lab.lab)
        notes = [f"{problem}: {', '.join(names) if len(names) < len(grade.labs) else 'every lab'}"
                 for problem, names in problems.items()]
        link = esc(urllib.parse.quote(grade.student) + "/details.html")
        out.append(f'<tr><td><a href="{link}">{esc(grade.student)}</a></td>{"".join(cells)}'
                   f'<td class="num {cell_class(grade.score, grade.max_score)}"><b>{grade.score}</b></td>'
                   f'<td class="hint">{esc("; ".join(notes))}</td></tr>')
    out.append("</table></div>")
    return page("vmlabs class report", "\n".join(out))


def student_page(grade) -> str:
    status_class = {PASSED: "passed", FAILED: "failed", NOT_RUN: "notrun"}
    out = ['<p><a href="../report.html">&larr; class report</a></p>',
           f"<h1>{esc(grade.student)}: {grade.score}/{grade.max_score}</h1>",
           f'<p class="meta">{esc(grade.folder)}; random inputs from seed {grade.seed}; '
           f'<a href="results.json">results.json</a>, <a href="grade.txt">grade.txt</a></p>']
    out += [f'<p class="meta">note: {esc(n)}</p>' for n in grade.notes]
    for lab in grade.labs:
        out.append(f'<h2>{esc(lab.lab)}: {lab.points}/{lab.max_points}</h2>'
                   f'<p class="hint">{esc(lab.title)}</p>')
        if lab.problem:
            out.append(f'<p><code>{esc(lab.problem)}</code>: {esc(EXPLANATIONS[lab.problem])}</p>')
        if lab.problem in COMPILE_PROBLEMS:
            out.append(f"<p class=\"failed\">{esc(lab.lab)}.c does not compile:</p><pre>{esc(lab.message)}</pre>")
        elif lab.problem:
            out.append(f'<p class="failed">{esc(lab.message)}</p>')
        if lab.warnings:
            out.append(f'<details><summary class="notrun">the compiler warns (no points lost)'
                       f'</summary><pre>{esc(lab.warnings)}</pre></details>')
        out.append('<table class="cases"><colgroup><col style="width: 24%"><col style="width: 8%">'
                   '<col style="width: 8%"><col></colgroup><tr><th>case</th><th class="num">points'
                   '</th><th>status</th><th>what happened, and the hint</th></tr>')
        for c in lab.cases:
            what = ""
            if c.status != PASSED and not lab.problem:
                what = f"<code>{esc(c.outcome)}</code> {esc(c.reason)}"
                if c.outcome_wrong:
                    what += f'<br><span class="hint">{esc(c.meaning)}</span>'
                if c.status == FAILED:
                    what += f'<br><span class="hint">hint: {esc(c.hint)}</span>'
            if c.record and not lab.problem:
                what += (f'<details><summary>the run</summary><pre>{esc(c.output)}</pre>'
                         f'<a href="{esc(c.record)}">full output</a></details>')
            out.append(f'<tr><td><code>{esc(c.name)}</code>{" (hidden)" if c.hidden else ""}</td>'
                       f'<td class="num">{c.points}/{c.max_points}</td>'
                       f'<td class="{status_class[c.status]}">{esc(c.status)}</td><td>{what}</td></tr>')
        out.append("</table>")
    return page(f"vmlabs: {grade.student}", "\n".join(out))


def write(out: Path, grades, labs, changes=None):
    """report.html for the class (with changes: regrade's, since a previous grading) and
    STUDENT/details.html for each student."""
    for grade in grades:
        write_atomic(out / grade.student / "details.html", student_page(grade))
    write_atomic(out / "report.html", class_page(grades, labs, changes))
