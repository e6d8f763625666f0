# korus-trade: reproducible analysis of U.S. goods trade with South Korea.
# `make` (or `make help`) lists the targets. Every step writes real files, so a second
# `make all` does nothing and an edit re-runs only what depends on it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-builtin-variables
.SUFFIXES:

# ---- parameters (override on the command line: make report PARTNER=Japan) -----------------
# Empty START, BREAKS, FORECAST: the partner's defaults (analysis.params: START 2000-01, BREAKS its
# own agreement dates from data/external/us_ftas.csv, none without one; FORECAST sarimax).
PARTNER ?= 5800
START   ?=
END     ?=
BREAKS  ?=
FORECAST ?=
PYTHON  ?= python3
comma   := ,
# Parameters reach Python as data: exported into every recipe's environment, never pasted
# into shell text, so a quote in a partner's name ("Cote d'Ivoire") is just a character. Nor
# does make expand them: each is fixed to its literal text ($(value ...), a simple variable),
# so `$(shell ...)` in a parameter is never run and `Cura$cao` keeps its `$`. (A command-line
# variable is exported to every recipe, expanded each time, unless it is made simple here.)
PARAMETERS := PARTNER START END BREAKS FORECAST SLUG NOT_BUILT
$(foreach p,$(PARAMETERS),$(eval override $(p) := $$(value $(p))))
export PARTNER START END BREAKS FORECAST
export ANALYSIS_PARTNER  := $(value PARTNER)
export ANALYSIS_START    := $(value START)
export ANALYSIS_END      := $(value END)
export ANALYSIS_BREAKS   := $(value BREAKS)
export ANALYSIS_FORECAST := $(value FORECAST)
# SLUG names a report folder in targets (reports/$(SLUG)/...), which recipes use as file names:
# only lower-case letters, digits and hyphens, as analysis.partners makes them.
_SLUG_CHARS := a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 -
_strip_chars = $(if $(2),$(call _strip_chars,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,99,$(2))),$(1))
ifneq ($(strip $(call _strip_chars,$(SLUG),$(_SLUG_CHARS)))$(filter-out 0 1,$(words $(SLUG))),)
$(error SLUG=$(SLUG): a report folder is lower-case letters, digits and hyphens (korea-south))
endif

# ---- environment ---------------------------------------------------------------------------
VENV      ?= .venv
PY        := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed
SRC       := src/analysis
CACHE     := $(CURDIR)/build/cache
# Keep matplotlib, IPython and Jupyter state inside the build tree, not in $HOME.
export MPLCONFIGDIR       := $(CACHE)/matplotlib
export IPYTHONDIR         := $(CACHE)/ipython
export JUPYTER_CONFIG_DIR := $(CACHE)/jupyter/config
export JUPYTER_DATA_DIR   := $(CACHE)/jupyter/data
export JUPYTER_RUNTIME_DIR := $(CACHE)/jupyter/runtime
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export MPLBACKEND := Agg
# Multi-threaded OpenBLAS on 2 shared cores makes one SARIMAX fit 50x slower: one thread each.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
# Outputs land in this checkout even when the package is installed from another one.
export ANALYSIS_ROOT := $(CURDIR)
# Finished X-13 runs, by their input (analysis.models.x13_cache): a series adjusted before is not
# adjusted again. Scratch like build/cache, but kept apart from it.
export ANALYSIS_X13_CACHE := $(CURDIR)/build/x13
# Python writes its bytecode caches (__pycache__/, git-ignored) even where the environment
# sets PYTHONDONTWRITEBYTECODE: a build starts dozens of Python processes, each notebook's kernel
# among them, and without the caches each one compiles the package's modules again (a miniature
# build took about 75 CPU seconds instead of 65).
unexport PYTHONDONTWRITEBYTECODE

RUN_NB := $(PY) -m analysis.pipeline.run_notebook
# The sub-makes that build independent pages (a partner's two notebooks, the context pages) run
# two recipes at a time when make was given no -j of its own: the machine has two cores, and a
# notebook's kernel start and imports are mostly waiting on one. `make -j1` runs them one by
# one; `make -jN` shares make's own N job slots.
SIDE_BY_SIDE = $(if $(filter -j%,$(MAKEFLAGS)),,-j2)

# ---- files ---------------------------------------------------------------------------------
# One variable per raw source (RAW_<ID>: RAW_CENSUS, RAW_WDI, RAW_CENSUS_HS2_IMPORTS, ...),
# RAW_OPTIONAL (the sources the pipeline can do without: the claims that need them are reported
# not_checkable, the revisions skip a vintage), RAW_ALL, and the rule obtaining each: generated
# from data/raw/sources.json into build/sources.mk (analysis.sources.rules, standard library
# only), so a new source is its manifest entry and its module, not a Makefile edit.
SOURCES_MK := build/sources.mk
-include $(SOURCES_MK)
$(SOURCES_MK): data/raw/sources.json $(SRC)/sources/rules.py $(SRC)/sources/manifest.py
	@PYTHONPATH=src $(PYTHON) -m analysis.sources.rules $@
PRODUCTS  := data/processed/trade_hs_monthly.csv data/processed/trade_hs_monthly.parquet
REVISIONS := data/processed/revisions.csv
# A raw file's content, not its mtime: build/stamps/<file>.sha256 is refreshed each time make
# reads this file, dated by when its content was first seen (analysis.pipeline.stamps), so a
# byte changed with the file's time restored still re-runs the steps that read it (and their
# readers refuse it), and putting the good file back leaves everything up to date.
# (The venv's interpreter when there is one: it starts in milliseconds, a pyenv shim does not.)
# Each make of a run (`make all` reads this file six times) first compares the size, inode,
# modification and change times of the raw files and their stamps with those recorded after the
# last refresh (build/stamps/keys, GNU stat): the same, and nothing was written to any of them
# since (a write changes the change time, which no one can set back), so the stamps are up to
# date and no Python starts. Without GNU stat the keys are empty and the stamps are refreshed.
PY_FAST = $(if $(wildcard $(PY)),$(PY),$(PYTHON))
STAMP_KEYS = stat -c '%n:%s:%i:%.9Y:%.9Z' $(RAW_ALL) $(foreach f,$(RAW_ALL),build/stamps/$(notdir $(f)).sha256) 2>/dev/null
_STAMPED := $(shell k=$$($(STAMP_KEYS)); [ -n "$$k" ] && [ "$$k" = "$$(cat build/stamps/keys 2>/dev/null)" ] || \
  { { PYTHONPATH=src $(PY_FAST) -m analysis.pipeline.stamps $(RAW_ALL) 2>/dev/null || PYTHONPATH=src $(PYTHON) -m analysis.pipeline.stamps $(RAW_ALL); } && \
    mkdir -p build/stamps && { $(STAMP_KEYS); } > build/stamps/keys.$$$$; mv -f build/stamps/keys.$$$$ build/stamps/keys; })
# Steps depend on a raw file's *verified* content: build/verified/<file>.ok, dated as its stamp,
# is made by verifying the file (sha256 against the manifest and the vintage log) once per new
# content, before any step that reads it starts. A file changed by hand so stops the build in
# one line, not in each notebook that reads it; the steps verify it again when they read it.
STAMP = build/verified/$(notdir $(1)).ok
PROCESSED  := data/processed/trade_monthly.csv data/processed/trade_monthly.parquet \
              data/processed/trade_monthly.meta.json data/processed/partners.csv
# Which package files each step imports, derived from the imports themselves (DEPS_<step>):
# editing a module re-runs exactly the steps that import it. Regenerated when any source or
# notebook changes (standard library only, so it runs before .venv exists).
DEPS_MK := build/deps.mk
-include $(DEPS_MK)
$(DEPS_MK): $(shell find $(SRC) -name '*.py' -o -path '*/templates/*' -type f 2>/dev/null) $(wildcard notebooks/*.ipynb)
	@mkdir -p $(@D)
	@PYTHONPATH=src $(PYTHON) -m analysis.pipeline.deps $@
CLAIMS_FILE := data/external/claims.csv
# Agreement and event dates (analysis.external): the pages that mark or model them follow them.
DATES := data/external/us_ftas.csv data/external/events.csv

# Every output is written to a temporary file and renamed into place, so a failed or killed
# recipe never leaves a half-written target. Make must not delete the last good outputs either:
# GNU make 4.3 deletes the *unchanged* other targets of a grouped rule (&:) when its recipe
# fails or is interrupted, and deletes intermediate files (the pattern rules' outputs).
# (The grouped rules generated into build/pages.mk declare their own targets .PRECIOUS.)
.PRECIOUS: $(PRODUCTS) $(REVISIONS) build/stamps/%.sha256 \
           reports/%/params.json reports/%/results.json reports/%/02_trends.ipynb reports/%/06_sectors.ipynb
# Name the pattern rules' outputs of the reports present (and of the one being built), so that
# they are not intermediate: make remakes them when they are missing. (No blanket .SECONDARY:
# it would stop make from remaking *any* missing file, e.g. a deleted data/raw/country.xlsx.)
REPORT_SLUGS := $(sort $(SLUG) $(patsubst reports/%/params.json,%,$(wildcard reports/*/params.json)))
ifneq ($(REPORT_SLUGS),)
$(foreach s,$(REPORT_SLUGS),reports/$(s)/results.json reports/$(s)/02_trends.ipynb reports/$(s)/06_sectors.ipynb):
endif

##@ Main
help: ## List the targets (this text)
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z0-9_.\/-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@printf '  Parameters: PARTNER=%s START=%s END=%s BREAKS=%s FORECAST=%s (sarimax|ets; empty: the partner'"'"'s defaults)\n' \
	  "$$ANALYSIS_PARTNER" "$$ANALYSIS_START" "$$ANALYSIS_END" "$$ANALYSIS_BREAKS" "$$ANALYSIS_FORECAST"

# A page that cannot be built (a partner whose data a model cannot take) does not stop the
# others: the pages are made with -k, the landing page after them, and then each page still
# not up to date is listed on one line and make exits non-zero. It has no up-to-date target,
# so the next `make all` retries it (and only it).
all: $(PROCESSED) $(PRODUCTS) $(REVISIONS) reports/data-quality.html ## Everything: environment, data, cleaning, models, figures, HTML report
	@failed=; \
	$(MAKE) --no-print-directory $(SIDE_BY_SIDE) -k context-pages || failed="$$failed context"; \
	$(MAKE) --no-print-directory $(SIDE_BY_SIDE) -k report KEEP_PARAMS=1 || failed="$$failed partner"; \
	$(MAKE) --no-print-directory $(SIDE_BY_SIDE) -k partner-pages || failed="$$failed partner"; \
	$(MAKE) --no-print-directory reports/index.html || failed="$$failed index"; \
	if [ -n "$$failed" ]; then $(MAKE) --no-print-directory not-built "NOT_BUILT=$$failed"; exit 1; fi

# One line per page of the groups in NOT_BUILT (default: all) that make finds not up to date.
PAGES_context = $(CONTEXT_PAGES)
PAGES_partner = $(foreach s,$(REPORT_SLUGS),reports/$(s)/trends.html reports/$(s)/sectors.html)
PAGES_index = reports/index.html
not-built:
	@for page in $(foreach g,$(sort $(or $(NOT_BUILT),context partner index)),$(PAGES_$(g))); do \
	  $(MAKE) --no-print-directory -q "$$page" 2>/dev/null || echo "not built: $$page (its error is above; the next make all retries it)" >&2; \
	done

# Every partner report on disk follows the data: a new Census month rebuilds them all. (The
# landing page is made by a later make, whose wildcards see the pages made here.)
partner-pages: $(foreach s,$(REPORT_SLUGS),reports/$(s)/trends.html reports/$(s)/sectors.html)

.PHONY: products products-api revisions help all all-partners not-built venv data report partner-pages agreements context context-pages publish test test-fast lab clean distclean lint bench bench-tests

# ---- environment ---------------------------------------------------------------------------
$(ENV_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Optional jsonschema plugin: adds ~2 s to every Jupyter process start, unused here.
	$(PY) -m pip uninstall --quiet -y rfc3987-syntax >/dev/null 2>&1 || true
	touch $@

$(CACHE):
	mkdir -p $(MPLCONFIGDIR) $(IPYTHONDIR) $(JUPYTER_CONFIG_DIR) $(JUPYTER_DATA_DIR) $(JUPYTER_RUNTIME_DIR)

venv: $(ENV_STAMP) ## Create .venv and install the package (re-runs when pyproject.toml changes)

# ---- data ----------------------------------------------------------------------------------
data: $(RAW_ALL) ## Obtain raw data (official URL, or ANALYSIS_DATA_MIRROR) and verify checksums

# The product table (U.S. imports by HS2 chapter and country) and the revisions between
# vintages. Without their optional sources they are skipped with one line saying what they need.
products: $(PRODUCTS) ## Product table data/processed/trade_hs_monthly.csv (mirror extract, or `make products-api`)
$(PRODUCTS) &: $(call STAMP,$(RAW_CENSUS_HS2_IMPORTS)) $(DEPS_products) | $(RAW_CENSUS_HS2_IMPORTS) $(ENV_STAMP)
	@if [ -f $(RAW_CENSUS_HS2_IMPORTS) ]; then $(PY) -m analysis.clean.products --raw $(RAW_CENSUS_HS2_IMPORTS) --out-dir data/processed; \
	else echo "note: no product data: the sectors pages need the Census API extract (ANALYSIS_DATA_MIRROR) or CENSUS_API_KEY with make products-api"; fi

# The API client's settings reach it as data, never expanded by make (fixed to their literal
# text first): REFRESH=1 asks the API again instead of using the cache; CENSUS_API_BASE_URL
# sets the address (CENSUS_API_DEADLINE and CENSUS_API_MAX_BYTES, from the environment, the bounds).
override REFRESH := $(value REFRESH)
override CENSUS_API_BASE_URL := $(value CENSUS_API_BASE_URL)
products-api: export ANALYSIS_REFRESH := $(value REFRESH)
products-api: export CENSUS_API_BASE_URL := $(value CENSUS_API_BASE_URL)
products-api: | $(ENV_STAMP) ## Product table from the live Census API (needs CENSUS_API_KEY; REFRESH=1)
	$(PY) -m analysis.clean.products --source api --level HS2 --level HS4 --level HS6 --out-dir data/processed

revisions: $(REVISIONS) ## Revisions between vintages of the Census data: data/processed/revisions.csv
$(REVISIONS): $(RAW_CENSUS) $(foreach f,$(RAW_CENSUS) $(RAW_CENSUS_2016) $(RAW_CENSUS_API_EXPORTS) $(RAW_CENSUS_API_IMPORTS),$(call STAMP,$(f))) \
    $(DEPS_revisions) | $(RAW_CENSUS_2016) $(RAW_CENSUS_API_EXPORTS) $(RAW_CENSUS_API_IMPORTS) $(ENV_STAMP)
	@if [ -f $(RAW_CENSUS_2016) ] || [ -f $(RAW_CENSUS_API_EXPORTS) ]; then $(PY) -m analysis.clean.revisions --out $@; \
	else echo "note: no second vintage: the revisions need the 2016 table or the Census API extracts (ANALYSIS_DATA_MIRROR)"; fi

build/stamps/%.sha256:
	@PYTHONPATH=src $(PYTHON) -m analysis.pipeline.stamps data/raw/$*

build/verified/%.ok: build/stamps/%.sha256 | $(ENV_STAMP)
	@$(PY) -m analysis.sources.acquire --verify-file data/raw/$*
	@mkdir -p $(@D) && touch -r $< $@

##@ Reports
# The partner's slug (reports/<slug>/) comes from the Census name, so it is looked up once the
# partner table exists; an unknown partner stops here with the closest names. Without parameters
# the partner returns to its defaults (one line says so); `make all` keeps each report's own.
report: $(PROCESSED) ## Models, figures and HTML for PARTNER (code or name; default 5800)
	@slug=$$($(PY) -m analysis.partners slug) && \
	$(PY) -m analysis.params $(if $(value KEEP_PARAMS),--keep) "reports/$$slug/params.json" && \
	$(MAKE) --no-print-directory $(SIDE_BY_SIDE) "reports/$$slug/trends.html" "reports/$$slug/sectors.html" reports/index.html "SLUG=$$slug"

# Default parameters for a partner whose report has none yet (used by all-partners).
reports/%/params.json: export ANALYSIS_PARTNER = $*
reports/%/params.json: | $(PROCESSED)
	$(PY) -m analysis.params $@

# (The slugs come from analysis.partners, made of letters, digits and hyphens.) A dry run of make
# says which partners' pages are out of date; those are built by one batch process
# (analysis.pipeline.batch: one kept kernel, imports paid once; -j N gives it N workers), which
# shows progress and lists a partner that fails on one line without stopping the others.
BATCH_JOBS = $(or $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS))),1)
# `make -n all-partners` shows the plan (the notebook runs of each out-of-date partner) and runs
# nothing: make runs a recipe line that calls $(MAKE) even under -n, so the batch checks. Read
# when the recipe runs (the single-letter flags are then MAKEFLAGS' first word): read while the
# Makefile is parsed, it could be a command-line variable (`VENV=/work/main/.venv` has an n).
DRY_RUN = $(findstring n,$(filter-out -% %=%,$(firstword $(MAKEFLAGS))))
all-partners: export ANALYSIS_PARTNERS := $(value PARTNERS)
all-partners: $(PROCESSED) ## Reports for every country with data around the first break (use -j 2; PARTNERS='japan canada': those only)
	@$(MAKE) --no-print-directory -q $(PRODUCTS) 2>/dev/null || $(MAKE) --no-print-directory $(PRODUCTS) || true
	@slugs=$$($(PY) -m analysis.partners list) && \
	pages=$$(printf '%s\n' $$slugs | sed 's|.*|reports/&/trends.html reports/&/sectors.html|') && \
	if [ -n "$(DRY_RUN)" ]; then $(MAKE) --no-print-directory -n $$pages; exit 0; fi; \
	stale=$$($(MAKE) --no-print-directory -n -k $$pages 2>/dev/null | grep -v '^make' | grep -o 'reports/[A-Za-z0-9-]*/' | sort -u || true) ; \
	todo=$$(for s in $$slugs; do case "$$stale" in *"reports/$$s/"*) echo "$$s";; esac; done) && \
	failed=0 && { [ -z "$$todo" ] || $(PY) -m analysis.pipeline.batch --jobs $(BATCH_JOBS) $$todo || failed=1; } && \
	$(MAKE) --no-print-directory reports/index.html && exit $$failed

reports/%/results.json reports/%/02_trends.ipynb &: reports/%/params.json $(PROCESSED) $(DATES) notebooks/02_trends.ipynb $(DEPS_02_trends) | $(ENV_STAMP) $(CACHE)
	$(RUN_NB) notebooks/02_trends.ipynb reports/$*/02_trends.ipynb -f reports/$*/params.json \
	  -r out_dir reports/$* -r data_path data/processed/trade_monthly.csv

# The landing page is made in a second make so that its wildcard prerequisites see the
# pages made in the first (make expands a rule's prerequisites when it reads the Makefile).
agreements: $(PROCESSED) ## Every U.S. FTA evaluated as KORUS, side by side: reports/agreements.html and .json
	@$(MAKE) --no-print-directory reports/agreements.html
	@$(MAKE) --no-print-directory reports/index.html

context: $(PROCESSED) ## KORUS context pages: comparison partners, Korea macro, claims check
	@$(MAKE) --no-print-directory $(SIDE_BY_SIDE) context-pages
	@$(MAKE) --no-print-directory reports/index.html


# the documented revision sizes behind the 'within revision' verdict (with sources)
REVISION_TOLERANCES := data/external/revision_tolerances.csv

# KORUS among all U.S. FTAs, the synthetic control, and the size of the trend tests (from the
# size simulation, benchmarks/size.json, which benchmarks/size_sim.py writes: 5,000 draws a flow).
FTAS := data/external/us_ftas.csv
# the synthetic control's donor-pool rule (micro-states, territories, entrepôts; with sources)
DONOR_RULE := data/external/donor_exclusions.csv

# Sectors: the product composition of trade with a partner (from the product table; one
# line says what is missing without it). The partner's code is read from its params.json.
SECTIONS := data/external/hs_sections.csv
reports/%/06_sectors.ipynb: reports/%/params.json $(PROCESSED) $(DATES) $(SECTIONS) $(wildcard $(PRODUCTS)) notebooks/06_sectors.ipynb \
    $(DEPS_06_sectors) | $(PRODUCTS) $(ENV_STAMP) $(CACHE)
	code=$$($(PY) -m analysis.params --print-partner $<) && \
	$(RUN_NB) notebooks/06_sectors.ipynb $@ -r out_dir reports/$* -r partner "$$code" \
	  -r products_path data/processed/trade_hs_monthly.csv -r sections_path $(SECTIONS)

# Vintages: revisions between vintages, and the KORUS models and claims re-run on the data as
# published in January 2017 (needs the 2016 table; its scratch folder stays in build/).
reports/vintages.html: $(REVISIONS) $(PROCESSED) $(DATES) $(RAW_WDI) $(CLAIMS_FILE) notebooks/07_vintages.ipynb $(DEPS_07_vintages) \
    $(call STAMP,$(RAW_CENSUS_2016)) $(DEPS_publish) | $(RAW_CENSUS_2016) $(ENV_STAMP) $(CACHE)
	@if [ -f $(RAW_CENSUS_2016) ] && [ -f $(REVISIONS) ]; then \
	  $(RUN_NB) notebooks/07_vintages.ipynb build/notebooks/07_vintages.ipynb -r out_dir build/vintages && \
	  $(PY) -m analysis.report.publish notebook build/notebooks/07_vintages.ipynb $@; \
	else echo "note: no 2016 vintage or revisions: the vintages page needs ANALYSIS_DATA_MIRROR"; fi

# The notebook pages' rules, generated from the page registry (analysis.report.pages.PAGES)
# into build/pages.mk as build/deps.mk is (standard library only): for each entry, the rule
# running its notebook (01_clean, 03_partners, 04_claims, 05_evaluation, 08_agreements: the
# entry's parameters, each one literal word, and inputs, named by the variables above) and the
# rule publishing the executed notebook (-> offline HTML). A new page's entry brings its rules.
# Written here instead (pages.RUN_BY_HAND says why): the partner pattern rules of 02_trends and
# 06_sectors (params.json, the partner's code read by the shell) and the vintages page's
# conditional run of 07_vintages.
PAGES_MK := build/pages.mk
-include $(PAGES_MK)
$(PAGES_MK): src/analysis/report/pages.py
	@PYTHONPATH=src $(PYTHON) -m analysis.report.pages $@

# The site pages `make all` builds after the cleaning (the registry's pages marked context),
# and the claims table the landing page reads.
CONTEXT_PAGES := $(REGISTRY_CONTEXT_PAGES) reports/claims.csv
context-pages: $(CONTEXT_PAGES)

# The landing page lists every partner report present (and the one being built), linking a
# partner's pages only once they exist: so it comes after them.
# Not the figures: a report's figures are swapped in together with its results.json (written
# last), and a figure a re-run no longer draws must not become a missing prerequisite.
reports/index.html: $(sort $(wildcard reports/*/results.json reports/korus/*.html reports/*/trends.html reports/*/sectors.html) \
    $(wildcard reports/claims.csv reports/data-quality.html reports/vintages.html reports/korus/evaluation.json reports/agreements.json) $(if $(SLUG),reports/$(SLUG)/results.json reports/$(SLUG)/trends.html reports/$(SLUG)/sectors.html)) \
    data/processed/trade_monthly.meta.json $(DATES) $(DEPS_publish) | $(ENV_STAMP) $(CACHE)
	$(PY) -m analysis.report.publish index reports

# The site as published: dist/korus-trade-<data vintage>-<date>.zip (the site, its manifest
# and SHA256SUMS inside), dist/<same>.manifest.json and dist/SHA256SUMS (analysis.report.bundle).
# Refused, with one line, when a page is out of date (make -q), fails the page checker, has a
# broken link or loads anything from the network. DEST=dir also copies the site into that
# folder; it reaches Python as data (fixed to its literal text, exported), never as shell text.
override DEST := $(value DEST)
publish: export PUBLISH_DEST := $(DEST)
publish: export PUBLISH_MAKE := $(MAKE)
publish: | $(ENV_STAMP) ## Bundle the built site: dist/*.zip, manifest and SHA256SUMS (DEST=dir: also copy it there)
	$(PY) -m analysis.report.bundle --check-make

##@ Development
# Two workers by default (this project's machines have two cores; TEST_WORKERS=1 runs in one
# process). The end-to-end tests share two builds, each made once per run (tests/built_site.py).
TEST_WORKERS ?= 2
export ANALYSIS_TEST_WORKERS = $(value TEST_WORKERS)
test: lint $(ENV_STAMP) $(CACHE) ## Format check, lint, then every test (unit + end-to-end on ANALYSIS_DATA_MIRROR)
	$(PY) -m pytest -n "$$ANALYSIS_TEST_WORKERS" --maxschedchunk 1

test-fast: $(ENV_STAMP) ## The unit tests only: no make, no notebook kernel, no data mirror (about a minute)
	$(PY) -m pytest -n "$$ANALYSIS_TEST_WORKERS" --maxschedchunk 1 -m "not integration and not slow"

bench: $(ENV_STAMP) $(CACHE) ## Time the pipeline (cold, no-op, one more partner, steps, floor) -> benchmarks/results.md
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

bench-tests: $(ENV_STAMP) ## Time `make test` and `make test-fast` on a fresh clone -> benchmarks/results.md
	$(PY) benchmarks/test_timing.py

lint: $(ENV_STAMP) ## Ruff: format check and lint of src, tests and benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m ruff check src tests benchmarks

lab: $(ENV_STAMP) $(CACHE) ## Open JupyterLab on the project's environment (prints its URL; works as root)
	$(PY) -m analysis.pipeline.lab $(LAB_ARGS)

clean: ## Remove outputs (processed data, reports, build); never raw data or .venv
	rm -rf data/processed/*.csv data/processed/*.parquet data/processed/*.json data/processed/sa reports build

distclean: clean ## Also remove the virtual environment (raw data stays)
	rm -rf $(VENV)
