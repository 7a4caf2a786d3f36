# The two commands in the README: `make run` and `make test`. Everything else is theirs.
VENV ?= .venv
PYTHON ?= python3
FLASK = $(VENV)/bin/flask --app app
# Development mode: the dev secret key, dev message backends and the messages page.
DEV = FLASK_DEBUG=1

.PHONY: fonts run test test-fast test-postgres check setup catalog-update catalog-add \
  catalog-check catalog-pseudo gettext browsers screenshots guide-pictures clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# Compiled catalogs are built here, never committed: one .mo per language's .po.
CATALOGS = $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED = $(CATALOGS:.po=.mo)
$(COMPILED): %.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations --statistics

setup: $(VENV)/.installed $(COMPILED)

# DejaVu Sans for the demo invoices' PDFs (Polish letters embedded).
fonts:
	@[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null; }

run: setup fonts
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) demo seed
	@echo "Open http://127.0.0.1:5000/ -- sent codes and links: http://127.0.0.1:5000/dev/wiadomosci"
	$(DEV) $(FLASK) run

# Debian's Chromium for the real-browser tests (Playwright's own download does not work
# everywhere), Java for the W3C Nu HTML checker, and the pinned npm packages (axe-core,
# Lighthouse, vnu-jar).
browsers:
	@{ command -v chromium >/dev/null && [ -d /usr/share/fonts/truetype/dejavu ]; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@command -v java >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; }
	@command -v pdftotext >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }
	@$(MAKE) --no-print-directory node_modules/.installed

# The pinned npm packages (axe-core, Lighthouse, vnu-jar), again whenever the lock file changes.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup fonts browsers gettext
	$(VENV)/bin/pytest

# PNGs for reviewers and translators, at 360 and 1280 px, in screenshots/<language>/:
# the main pages in every configured language (test_every_language.py), and every page,
# wizard step and dialog state in Polish (the journeys; Faktury and Strona Główna with
# invoices; the phone's open menu). README's few pictures are in docs/. `make test` runs the language
# tour at the phone size only and saves nothing.
SCREENSHOT_TESTS = tests/browser/test_every_language.py tests/browser/test_journeys.py \
  tests/browser/test_dialog.py tests/browser/test_identity_pages.py \
  tests/browser/test_invoices_pages.py tests/browser/test_design.py \
  tests/browser/test_mydata_pages.py
screenshots: setup browsers
	rm -rf screenshots
	SCREENSHOTS_DIR=screenshots $(VENV)/bin/pytest -q $(SCREENSHOT_TESTS)
	@for folder in screenshots/*/; do echo "$$folder: $$(ls $$folder | wc -l) screenshots"; done

# The guide's pictures (static/guide/<language>/): the portal's own pages in each language,
# taken by the browser suite.
guide-pictures: setup browsers
	GUIDE_PICTURES_DIR=static/guide $(VENV)/bin/pytest -q tests/browser/test_guide_pictures.py

# The catalogs (TRANSLATING.md). scripts/catalog.py is their one definition, shared with
# the tests: extract the strings from the code and templates and merge them into every
# language's catalog. The .pot template is generated, never committed; lines are not
# wrapped (as Poedit and Weblate are set up), locations name the file only, the header
# follows pyproject.toml's version: running it twice changes nothing.
catalog-update: $(VENV)/.installed
	$(VENV)/bin/python scripts/catalog.py update

# `make catalog-add LANG=xx`: a new language's catalog, and what to do next.
# `make catalog-check LANG=xx`: its statistics, GNU msgfmt's checks and the catalog tests.
# Only a LANG given on the command line counts (the environment's LANG is the shell's
# locale); the commands themselves run in the usual C.UTF-8 locale.
CATALOG_LANGUAGE = $(if $(filter command line,$(origin LANG)),$(LANG))
CATALOG_ENV = LANG=C.UTF-8
catalog-add: $(VENV)/.installed
	@[ -n "$(CATALOG_LANGUAGE)" ] || { echo "usage: make catalog-add LANG=xx" >&2; exit 2; }
	$(CATALOG_ENV) $(VENV)/bin/python scripts/catalog.py add $(CATALOG_LANGUAGE)

catalog-check: $(VENV)/.installed gettext
	@[ -n "$(CATALOG_LANGUAGE)" ] || { echo "usage: make catalog-check LANG=xx" >&2; exit 2; }
	$(CATALOG_ENV) msgfmt --check --statistics -o /dev/null \
	  translations/$(CATALOG_LANGUAGE)/LC_MESSAGES/messages.po
	$(CATALOG_ENV) EBOK_TEST_LANGUAGES=$(CATALOG_LANGUAGE) \
	  $(VENV)/bin/pytest -q -p no:cacheprovider tests/test_catalog_workflow.py

# GNU gettext's msgfmt: the catalog tests check every catalog with `msgfmt -c`.
gettext:
	@command -v msgfmt >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq gettext >/dev/null; }

# What CI enforces before the tests: lint, formatting, types, the tree's layers with no
# import circles (import-linter's contracts in pyproject.toml), and the rules about the
# source files themselves (scripts/check_sources.py), and that the README's settings and
# the environment example are rendered from ebok/config.py (scripts/settings_docs.py).
check: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	MYPYPATH=tests/browser $(VENV)/bin/mypy tests/browser/*.py
	$(VENV)/bin/lint-imports
	$(VENV)/bin/python scripts/check_sources.py
	$(VENV)/bin/python scripts/settings_docs.py --check

# The inner loop: every test but the real-browser suite and the tests marked `slow` (real
# processes for long: gunicorn, private PostgreSQL and Redis servers, big imports). `make
# test` and CI run those too.
test-fast: setup gettext
	$(VENV)/bin/pytest --ignore=tests/browser -m "not slow"

# The same tests on the servers production uses: PostgreSQL (the database is created if
# missing) and limits counted in Redis. Each run works in a schema and key prefix of its
# own, removed at the end, so runs sharing a server do not meet. Tests that bring their own
# databases or servers, or use none (marked own_database), ran as they are in `make test`.
TEST_PG_DATABASE ?= ebok_test
TEST_DATABASE_URI ?= postgresql+psycopg://postgres@127.0.0.1:5432/$(TEST_PG_DATABASE)
TEST_RATELIMIT_STORAGE_URI ?= redis://127.0.0.1:6379/0
test-postgres: setup gettext
	@psql -h 127.0.0.1 -U postgres -d postgres -Atc \
	  "SELECT 1 FROM pg_database WHERE datname = '$(TEST_PG_DATABASE)'" | grep -q 1 \
	  || createdb -h 127.0.0.1 -U postgres $(TEST_PG_DATABASE)
	EBOK_TEST_DATABASE_URI=$(TEST_DATABASE_URI) \
	EBOK_TEST_RATELIMIT_STORAGE_URI=$(TEST_RATELIMIT_STORAGE_URI) \
	  $(VENV)/bin/pytest --ignore=tests/browser -m "not own_database"

clean:
	rm -rf $(VENV) node_modules instance translations/*/LC_MESSAGES/*.mo

# A pseudo-localised catalog (TRANSLATING.md): every string wrapped in ⟦ ⟧ and lengthened,
# in build/pseudo/eo/. See the pages in it with
#   FLASK_LANGUAGES='["pl","eo"]' FLASK_BABEL_TRANSLATION_DIRECTORIES="translations;build/pseudo" make run
catalog-pseudo: $(VENV)/.installed
	$(VENV)/bin/python scripts/catalog.py pseudo
