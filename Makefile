# vmlabs - Windows virtual memory, one experiment per lab.   `make help` lists the verbs.
#
# Adding a lab never touches this file: labs/NAME.c is built into build/NAME.exe with
# MinGW-w64, or, when expected/NAME.toml says `native = true`, into build/NAME with the
# host compiler. Everything generated goes under build/.

.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

BUILD ?= build
ifeq ($(origin CC),default)
ifeq ($(OS),Windows_NT)
CC := gcc
else
CC := x86_64-w64-mingw32-gcc
endif
endif
CFLAGS ?= -std=c11 -O2 -Wall -Wextra -Wpedantic -Werror
HOSTCC ?= gcc
HOSTCFLAGS ?= $(CFLAGS)
ARCH ?= x86_64
CC32 ?= i686-w64-mingw32-gcc
ifeq ($(OS),Windows_NT)
RUNNER ?=
PYTHON ?= python
else
RUNNER ?= wine
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
endif
PYTEST ?= $(PYTHON) -m pytest
PYTEST_FLAGS ?=
LAB ?=
ARGS ?=
# Grading (README: For instructors). SEED, TIMEOUT and EXPECTED_HIDDEN reach the harness
# through the environment: make passes command-line variables on.
SUBMISSION ?=
SUBMISSIONS ?=
# grade-all: ROSTER=roster.csv (also canvas.csv, moodle.csv), PREVIOUS=old grades.csv or folder
# (what changed since), ASSIGNMENT (the LMS column's name, default vmlabs).
ROSTER ?=
PREVIOUS ?=
ASSIGNMENT ?=

# JOBS: how many at once, everywhere: compiles (make -j), make check's workers (pytest-xdist)
# and the labs grade and grade-all run at once. Default: one per core; JOBS=1: one at a time.
# Never make -j around run-LAB, which reads your terminal.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
ifeq ($(filter run-% quiz,$(MAKECMDGOALS)),)
MAKEFLAGS += -j$(JOBS)
endif

# V=1 shows the commands.
ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-7s %s\n'
endif

LABS := $(sort $(basename $(notdir $(wildcard labs/*.c))))
NATIVE_LABS := $(sort $(basename $(notdir $(shell grep -l '^native *= *true' expected/*.toml 2>/dev/null))))
WINDOWS_LABS := $(filter-out $(NATIVE_LABS),$(LABS))
ifeq ($(OS),Windows_NT)
NATIVE_LABS :=
endif
EXES := $(WINDOWS_LABS:%=$(BUILD)/%.exe) $(NATIVE_LABS:%=$(BUILD)/%)
ifeq ($(ARCH),i686)
EXES += $(WINDOWS_LABS:%=$(BUILD)/i686/%.exe) $(WINDOWS_LABS:%=$(BUILD)/i686-laa/%.exe)
endif
PREBUILT := $(BUILD)/.prebuilt

# What the harness needs to build and run exactly what make builds, and how it runs them:
# SANDBOX=0 runs without bwrap (only code you trust), SANDBOX=user as a user of its own (root,
# where bwrap cannot start: chosen by itself when grading there); TIMEOUT (s, at most, for any case),
# CPUTIME (s), MEMORY, PROCS, OUTPUT, SCRATCH (sizes: 64M, 1G) are the limits of a run.
export BUILD CC CFLAGS HOSTCC HOSTCFLAGS RUNNER ARCH CC32
export SANDBOX TIMEOUT CPUTIME MEMORY PROCS OUTPUT SCRATCH JOBS

.PHONY: all run check check-distro bench grade grade-all similarity starter gradescope mutants deps clean help prefix handouts quiz quiz-set
all: $(EXES)

$(BUILD)/%.exe: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) CC $@
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/i686/%.exe: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) CC32 $@
	$(Q)mkdir -p $(@D) && $(CC32) $(CFLAGS) -o $@ $<

$(BUILD)/i686-laa/%.exe: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) CC32 $@
	$(Q)mkdir -p $(@D) && $(CC32) $(CFLAGS) -Wl,--large-address-aware -o $@ $<

$(NATIVE_LABS:%=$(BUILD)/%): $(BUILD)/%: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) HOSTCC $@
	$(Q)$(HOSTCC) $(HOSTCFLAGS) -o $@ $<

$(BUILD)/.dir:
	$(Q)mkdir -p $(BUILD) && touch $@

# The private Wine prefix, created once (about 10 s).
PREFIX := $(BUILD)/wineprefix/system.reg
prefix: $(if $(RUNNER),$(PREFIX))
$(PREFIX): | $(BUILD)/.dir
	$(Q)$(PYTHON) -m harness.run --prepare

# run and check install what is missing first; the builds wait for that.
ifneq ($(filter run run-% check bench grade grade-all mutants prefix quiz quiz-set,$(MAKECMDGOALS)),)
$(EXES) $(PREFIX) $(PREBUILT): | deps
endif

deps:
	$(Q)sh harness/deps.sh

run: prefix all
	$(Q)$(PYTHON) -m harness.demo $(LAB)

run-%: prefix
	$(Q)test -f labs/$*.c || { echo "no lab named $*; the labs are: $(LABS)" >&2; exit 2; }
	$(Q)$(MAKE) --no-print-directory $(if $(filter $*,$(NATIVE_LABS)),$(BUILD)/$*,$(BUILD)/$*.exe)
	$(Q)$(if $(filter $*,$(NATIVE_LABS)),,WINEPREFIX="$(abspath $(BUILD))/wineprefix" WINEDEBUG=-all \
	    WINEDLLOVERRIDES="winedbg.exe=d;mscoree=d;mshtml=d" $(RUNNER)) \
	    $(if $(filter $*,$(NATIVE_LABS)),$(BUILD)/$*,$(BUILD)/$*.exe) $(ARGS); \
	    echo "[$* exited with status $$?]"

# pytest-xdist, when installed, spreads the checks over JOBS workers (not for one LAB); not
# with SANDBOX=0, where the runs share one wineserver that the first worker to end would stop.
XDIST = $(if $(filter-out 1,$(JOBS)),$(if $(filter 0,$(SANDBOX)),,$(shell \
        $(PYTHON) -c 'import xdist' 2>/dev/null && echo -n $(JOBS))))

# What make check's tests compile besides the labs (each lab alone, the self-test programs),
# built beside the Wine prefix, when a core is free; the tests find them built.
$(PREBUILT): $(wildcard labs/*.c labs/lab.h harness/tests/programs/*.c) | $(BUILD)/.dir
	$(say) PREBUILD "each lab alone, the self-test programs"
	$(Q)$(PYTHON) -m harness.build $(JOBS) && touch $@

check: prefix all $(if $(LAB),,$(PREBUILT))
	$(Q)$(PYTEST) harness $(if $(LAB),--lab $(LAB),$(if $(XDIST),-n $(XDIST))) $(PYTEST_FLAGS)

# make check on another Debian release (DISTRO=trixie, bookworm, ...), in a debootstrap root
# of its own cached under $(BUILD)/distro/ (README: Platforms). Needs root; the first run makes
# the root (some minutes), later ones take as long as make check. Not part of CI.
DISTRO ?= trixie
check-distro:
	$(Q)sh harness/distro.sh $(DISTRO)

# How fast make check and class grading are against what they cannot avoid; writes
# BENCHMARKS.md (~12 minutes on 2 cores; BENCH_CLASS="4 8 16" sets the class sizes).
bench: prefix all
	$(Q)$(PYTHON) -m harness.bench

handouts: prefix all
	$(Q)$(PYTHON) -m harness.handouts $(LAB)

# Predict, then run (harness/quiz.py): a seeded vmsh script; SEED=n replays it, ANSWERS=1 shows
# the answers, PREDICTIONS=file reads the predictions from a file instead of the terminal.
quiz: prefix
	$(Q)$(PYTHON) -m harness.quiz $(if $(SEED),--seed $(SEED)) $(if $(filter 1,$(ANSWERS)),--answers) \
	    $(if $(PREDICTIONS),--predictions "$(PREDICTIONS)") $(if $(QUIZ_LANG),--lang $(QUIZ_LANG))

# N quizzes and their answers for an exam, English and Italian -> $(BUILD)/quiz-set/
quiz-set: prefix
	$(Q)$(PYTHON) -m harness.quiz --set $(or $(N),10) $(if $(SEED),--seed $(SEED)) --out $(BUILD)/quiz-set

# The grader's status: 0 full marks, 1 points lost, 2 grading could not run (make itself
# reports any non-zero status as its own status 2: python3 -m harness.grade gives it exactly).
grade: prefix
	$(Q)$(PYTHON) -m harness.grade $(if $(SUBMISSION),--submission "$(SUBMISSION)") $(if $(LAB),--lab $(LAB))

grade-all: prefix
	$(Q)$(if $(SUBMISSIONS),$(PYTHON) -m harness.grade --all "$(SUBMISSIONS)" $(if $(LAB),--lab $(LAB)) \
	    $(if $(ROSTER),--roster "$(ROSTER)") $(if $(PREVIOUS),--previous "$(PREVIOUS)") \
	    $(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)"),\
	    echo "make grade-all needs SUBMISSIONS=folder (one sub-folder per student)" >&2; exit 2)

# Which students handed in the same solutions: Dolos (npm, installed once into BUILD/dolos,
# about 4 minutes: it compiles its parsers, with the host's compiler and flags, not the labs'),
# the starter as the baseline; LAB=name: one lab.
DOLOS_VERSION := 3.5.1
DOLOS := $(BUILD)/dolos/node_modules/@dodona/dolos-lib/package.json
$(DOLOS): | $(BUILD)/.dir
	$(Q)command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 || { echo "make similarity \
	    needs node and npm (and g++, make for Dolos's parsers): apt-get install nodejs npm \
	    build-essential" >&2; exit 2; }
	$(say) NPM "@dodona/dolos-lib@$(DOLOS_VERSION) into $(BUILD)/dolos (once, a few minutes)"
	$(Q)env -u CC -u CFLAGS -u HOSTCC -u HOSTCFLAGS -u ARCH npm install --prefix "$(BUILD)/dolos" --no-audit --no-fund --loglevel=error \
	    "@dodona/dolos-lib@$(DOLOS_VERSION)" >/dev/null

similarity: $(if $(SUBMISSIONS),$(DOLOS))
	$(Q)$(if $(SUBMISSIONS),$(PYTHON) -m harness.similarity "$(SUBMISSIONS)" $(if $(LAB),--lab $(LAB)),\
	    echo "make similarity needs SUBMISSIONS=folder (one sub-folder per student)" >&2; exit 2)

# The grader tests its own cases: every mistake of expected/mutants/catalogue.toml, applied
# alone wherever it fits in the labs, graded as a submission, JOBS at a time; caught = loses
# points. Writes $(BUILD)/mutants/report.md (about 3 minutes on 2 cores; LAB=name: one lab).
mutants: prefix all
	$(Q)$(PYTHON) -m harness.mutants --jobs $(JOBS) $(if $(LAB),--lab $(LAB))

# The students' copy: labs with TODOs where the solution regions are, the public cases,
# the harness, a student Makefile, README and GitHub Classroom workflow.
starter:
	$(Q)$(PYTHON) -m harness.starter $(BUILD)/starter

# Gradescope's autograder: setup.sh, run_autograder, the harness and the cases (hidden ones
# too, with EXPECTED_HIDDEN=dir); no solution.
gradescope:
	$(Q)$(PYTHON) -m harness.gradescope $(BUILD)/gradescope

clean:
	$(Q)WINEPREFIX="$(abspath $(BUILD))/wineprefix" wineserver -k 2>/dev/null || true
	rm -rf $(BUILD)

help:
	@echo "vmlabs: Windows virtual memory labs (README.md explains them)"
	@echo ""
	@echo "  make run            build every lab and watch the lecture's experiments, in order"
	@echo "                      (LAB=name: only that lab's)"
	@echo "  make check          run every case of every lab; exit 0 only when all pass"
	@echo "                      (LAB=name: only that lab's cases)"
	@echo "  make run-LAB        run one lab, standard input from the terminal; ARGS=\"...\""
	@echo "                      e.g. make run-reserve_commit ARGS=commit"
	@echo "  make                build every lab into $(BUILD)/"
	@echo "  make handouts       refresh the captured outputs in labs/*.md (LAB=name: one lab's)"
	@echo "  make check-distro   make check on another Debian (DISTRO=trixie), in a debootstrap root"
	@echo "                      under $(BUILD)/distro/ (root; minutes the first time; not in CI)"
	@echo "  make bench          time make check against its floor, the sandbox, class grading; writes BENCHMARKS.md"
	@echo "  make quiz           predict a random vmsh script step by step, then run it (SEED=n,"
	@echo "                      ANSWERS=1 shows the answers, PREDICTIONS=file, QUIZ_LANG=it)"
	@echo "  make deps           install MinGW-w64, Wine, bubblewrap and pytest (apt-get; asks sudo)"
	@echo "  make clean          remove $(BUILD)/ (executables, Wine prefix, results)"
	@echo ""
	@echo "for instructors (README.md, For instructors):"
	@echo "  make grade          grade the reference labs: points per case, Score: X/Y"
	@echo "  make grade SUBMISSION=dir       grade one student's folder -> $(BUILD)/grade/results.json"
	@echo "  make grade-all SUBMISSIONS=dir  grade one sub-folder per student, JOBS at a time"
	@echo "                      -> $(BUILD)/grade/grades.csv, report.html, STUDENT/results.json, feedback.txt"
	@echo "                      ROSTER=roster.csv: also canvas.csv, moodle.csv; PREVIOUS=old: what changed"
	@echo "  make similarity SUBMISSIONS=dir pairs of students ranked by the solution code they share"
	@echo "                      -> $(BUILD)/similarity/similarity.html (Dolos, installed once with npm)"
	@echo "  make starter        the students' copy, TODOs for solutions -> $(BUILD)/starter/"
	@echo "  make quiz-set N=10 SEED=s       N quizzes + answers, English and Italian -> $(BUILD)/quiz-set/"
	@echo "  make mutants        grade every catalogue mistake in the labs: does a case catch it?"
	@echo "                      -> $(BUILD)/mutants/report.md (LAB=name: one lab's)"
	@echo "  make gradescope     the autograder -> $(BUILD)/gradescope/autograder.zip"
	@echo "                      grading takes LAB=name SEED=n TIMEOUT=s EXPECTED_HIDDEN=dir"
	@echo ""
	@echo "  variables: CC=$(CC) CFLAGS=\"$(CFLAGS)\" RUNNER=$(RUNNER)"
	@echo "             ARCH=i686 also builds 32-bit versions; V=1 shows commands"
	@echo "             JOBS=$(JOBS): how many at once (compiles, checks, labs graded)"
	@echo "  sandbox:   every compile and run of a submission, every run, in bwrap; SANDBOX=0 runs"
	@echo "             without (only code you trust); SANDBOX=user as a user of its own (root)"
	@echo "  limits:    TIMEOUT=(each case's, 10 s) CPUTIME=(timeout + 1 s) MEMORY=1G PROCS=32"
	@echo "             OUTPUT=1M SCRATCH=64M, per run (README: The sandbox)"
	@echo "  labs:      $(LABS)"
