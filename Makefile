# Rapport CRM. `make run` serves the CRM with demo data; `make test` runs every check.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
PYTEST_ARGS ?=

.PHONY: run test setup assets messages migrate lint clean bench

$(VENV_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(VENV_STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

rapport/web/static/vendor/.stamp: node_modules/.package-lock.json
	rm -rf rapport/web/static/vendor
	mkdir -p rapport/web/static/vendor/tabler/css rapport/web/static/vendor/tabler/js rapport/web/static/vendor/htmx
	cp node_modules/@tabler/core/dist/css/tabler.min.css rapport/web/static/vendor/tabler/css/
	cp node_modules/@tabler/core/dist/js/tabler.min.js rapport/web/static/vendor/tabler/js/
	cp node_modules/htmx.org/dist/htmx.min.js rapport/web/static/vendor/htmx/
	mkdir -p rapport/web/static/vendor/echarts && cp node_modules/echarts/dist/echarts.min.js rapport/web/static/vendor/echarts/
	mkdir -p rapport/web/static/vendor/sortablejs && cp node_modules/sortablejs/Sortable.min.js rapport/web/static/vendor/sortablejs/
	touch $@

assets: rapport/web/static/vendor/.stamp

messages: $(VENV_STAMP)
	if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0; fi

setup: $(VENV_STAMP) assets messages

migrate: setup
	$(PY) manage.py migrate --no-input -v 0

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/lint-imports

run: migrate
	.venv/bin/rapport demo --if-empty
	.venv/bin/rapport serve

test: setup lint
	$(PY) -m pytest -q -n auto --maxprocesses=4 $(PYTEST_ARGS)

bench: migrate
	$(PY) bench/run.py

clean:
	rm -rf .venv node_modules rapport/web/static/vendor var
