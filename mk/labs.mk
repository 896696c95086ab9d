# The rules the checkout's Makefile and the students' (the starter's) share: building the
# labs, the Wine prefix, installing what is missing, running one lab, cleaning. Each Makefile
# sets CFLAGS before including this (the checkout's has -Werror) and adds its own verbs.
#
# labs/NAME.c is built into build/NAME.exe with MinGW-w64, or, when expected/NAME.toml says
# `native = true`, into build/NAME with the host compiler. Everything generated goes under
# build/. Adding a lab never touches this file.

.DEFAULT_GOAL := all
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
HOSTCC ?= gcc
HOSTCFLAGS ?= $(CFLAGS)
ifeq ($(OS),Windows_NT)
RUNNER ?=
PYTHON ?= python
else
RUNNER ?= wine
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
endif
LAB ?=
ARGS ?=
# JOBS: how many at once (compiles, checks, labs graded); default: one per core.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# V=1 shows the commands.
ifeq ($(V),1)
Q :=
say := @true
else
Q := @
say := @printf '  %-7s %s\n'
endif

LABS := $(sort $(basename $(notdir $(wildcard labs/*.c))))
# Which labs are Linux programs: the case files say so (harness/cases.py reads them).
NATIVE_LABS := $(shell $(PYTHON) -m harness.cases --native 2>/dev/null)
WINDOWS_LABS := $(filter-out $(NATIVE_LABS),$(LABS))
ifeq ($(OS),Windows_NT)
NATIVE_LABS :=
endif
EXES := $(WINDOWS_LABS:%=$(BUILD)/%.exe) $(NATIVE_LABS:%=$(BUILD)/%)

# What the harness needs to build and run exactly what make builds, and how it runs them:
# SANDBOX=0 runs without bwrap (only code you trust), SANDBOX=user as a user of its own (root,
# where bwrap cannot start: chosen by itself when grading there); TIMEOUT (s, at most, for any
# case), CPUTIME (s), MEMORY, PROCS, OUTPUT, SCRATCH (sizes: 64M, 1G) are the limits of a run.
export BUILD CC CFLAGS HOSTCC HOSTCFLAGS RUNNER
export SANDBOX TIMEOUT CPUTIME MEMORY PROCS OUTPUT SCRATCH JOBS

$(BUILD)/%.exe: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) CC $@
	$(Q)$(CC) $(CFLAGS) -o $@ $<

$(NATIVE_LABS:%=$(BUILD)/%): $(BUILD)/%: labs/%.c labs/lab.h | $(BUILD)/.dir
	$(say) HOSTCC $@
	$(Q)$(HOSTCC) $(HOSTCFLAGS) -o $@ $<

$(BUILD)/.dir:
	$(Q)mkdir -p $(BUILD) && touch $@

# The harness's words in Italian (VMLABS_LANG=it, or an Italian LANG): the catalogue
# harness/locale/it/LC_MESSAGES/vmlabs.po compiled for gettext, when msgfmt is installed (make
# deps installs it); without it the harness reads the .po itself (harness/i18n.py).
LOCALE_MO := $(BUILD)/locale/it/LC_MESSAGES/vmlabs.mo
LOCALE := $(if $(shell command -v msgfmt 2>/dev/null),$(LOCALE_MO))
$(LOCALE_MO): harness/locale/it/LC_MESSAGES/vmlabs.po | $(BUILD)/.dir
	$(say) MSGFMT $@
	$(Q)mkdir -p $(@D) && msgfmt --check -o $@ $<

# The private Wine prefix, created once (about 10 s).
PREFIX := $(BUILD)/wineprefix/system.reg
prefix: $(if $(RUNNER),$(PREFIX))
$(PREFIX): | $(BUILD)/.dir
	$(Q)$(PYTHON) -m harness.run --prepare

deps:
	$(Q)sh harness/deps.sh

# One lab, its standard input from the terminal. Under Wine with the harness's own variables
# (harness/wine.py: the private prefix, no debugger, no debug channels).
run-%: prefix
	$(Q)test -f labs/$*.c || { echo "no lab named $*; the labs are: $(LABS)" >&2; exit 2; }
	$(Q)$(MAKE) -s --no-print-directory $(if $(filter $*,$(NATIVE_LABS)),$(BUILD)/$*,$(BUILD)/$*.exe)
	$(Q)$(if $(filter $*,$(NATIVE_LABS)),,$(shell $(PYTHON) -m harness.wine $(BUILD)) $(RUNNER)) \
	    $(if $(filter $*,$(NATIVE_LABS)),$(BUILD)/$*,$(BUILD)/$*.exe) $(ARGS); \
	    status=$$?; echo "[$* exited with status $$status: $$(case $$status in \
	    0) echo "it ended normally";; \
	    2) echo "it reported an error: a usage mistake, or an API call that failed (see above)";; \
	    3) echo "abort() or exit(3)";; \
	    5) echo "an access violation (EXCEPTION_ACCESS_VIOLATION, 0xC0000005: Wine keeps only its low byte)";; \
	    139) echo "a segmentation fault (SIGSEGV)";; \
	    *) echo "see the last lines above";; esac)]"

# Everything generated, but a starter made here (make starter): that is a student's work.
clean:
	$(Q)WINEPREFIX="$(abspath $(BUILD))/wineprefix" wineserver -k 2>/dev/null || true
	$(Q)if [ -d $(BUILD)/starter ]; then \
	    find $(BUILD) -mindepth 1 -maxdepth 1 ! -name starter -exec rm -rf {} +; \
	    echo "kept $(BUILD)/starter: your copy of the labs (rm -rf $(BUILD)/starter removes it)"; \
	else rm -rf $(BUILD); fi

.PHONY: all prefix deps clean
