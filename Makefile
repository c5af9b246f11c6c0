# HMS: `make run` starts the whole platform on embedded defaults; `make test` runs the suite.
# Real PostgreSQL and Redis are chosen by environment variables (see .env.example).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SERVICES := users grants finance
PYTEST_ARGS ?=

# `make run` is a development run: debug on, dev-only keys (`make workspace`) under var/.
RUN_ENV := DEBUG=true WEB_CONCURRENCY=2

.DEFAULT_GOAL := help
.PHONY: help install workspace browser brokers nginx migrate seed code run test test-fast lint format bench api-schema catalogue clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements.txt requirements-runtime.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the pinned dependencies

workspace: install ## Create var/ (SQLite files, file-system broker) and development keys if missing
	@$(BIN)/python -m hms.workspace

migrate: workspace ## Migrate every service's own database
	@for service in $(SERVICES); do \
		echo "migrating $$service"; \
		$(RUN_ENV) DJANGO_SETTINGS_MODULE=hms.settings.$$service $(BIN)/python manage.py migrate --no-input -v0 || exit 1; \
	done

seed: migrate ## Load the demo data into every service (idempotent)
	@for service in $(SERVICES); do \
		$(RUN_ENV) DJANGO_SETTINGS_MODULE=hms.settings.$$service $(BIN)/python manage.py seed_demo || exit 1; \
	done

code: ## The sign-in code a demo staff account's authenticator would show now (EMAIL=...)
	@$(RUN_ENV) DJANGO_SETTINGS_MODULE=hms.settings.users $(BIN)/python manage.py demo_code "$(EMAIL)"

run: seed ## Set up everything and start the whole platform (Ctrl-C stops it)
	@echo ""
	@echo "HMS is starting:"
	@echo "  gateway        http://127.0.0.1:8000   (API: /api/v1/users, /api/v1/grants, /api/v1/finance, /status; docs: /docs)"
	@echo "  users admin    http://127.0.0.1:5001/admin/   (sign-in for every admin: /sign-in/)"
	@echo "  grants admin   http://127.0.0.1:5002/admin/   (caseworkers)"
	@echo "  finance admin  http://127.0.0.1:5003/admin/   (finance officers)"
	@echo "  emails         var/mail/ (one file per message; set EMAIL_URL for SMTP)"
	@echo "  documents      var/documents/ (uploads; HMS_STORAGE=s3 for object storage)"
	@echo ""
	@echo "Demo logins (email / password). Staff also type a code from an authenticator app: add the"
	@echo "key below to one (Google Authenticator, 1Password...), or run: make code EMAIL=caseworker@hms.example"
	@echo "  administrator    admin@hms.example       hms-admin-demo-2027       key ETNEH4XICWJ7ELJ3O7GBIR56GQK5KEY4"
	@echo "  caseworker       caseworker@hms.example  hms-caseworker-demo-2027  key WXLVNKYH6URSDULWJLF5IJSI3QMYFSSZ"
	@echo "  finance officer  finance@hms.example     hms-finance-demo-2027     key ILVN62ADPWJUZYALJWC6EVIEYOVIW2IX"
	@echo "  applicant        ada@example.com         hms-applicant-demo-2027   (individual)"
	@echo "  applicant        owner@acme.example      hms-applicant-demo-2027   (business)"
	@echo "  reviewer         reviewer@hms.example    hms-reviewer-demo-2027    key MX6O25GTVM6P4YEZ4E3X5GSOBKKEH5EP (a second caseworker)"
	@echo ""
	@echo "  curl -s -X POST http://127.0.0.1:8000/api/v1/users/token -H 'Content-Type: application/json' \\"
	@echo "       -d '{\"email\": \"owner@acme.example\", \"password\": \"hms-applicant-demo-2027\"}'"
	@echo ""
	PATH="$(BIN):$$PATH" $(RUN_ENV) $(BIN)/honcho start -f Procfile

browser: install ## Install headless Chromium (Debian's package) for the admin browser test
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (Debian package) for the admin browser test"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
			echo "could not install chromium: the admin browser test will be skipped"; \
		else \
			echo "chromium is not installed (needs root and apt-get): the admin browser test will be skipped"; \
		fi; \
	}

brokers: ## Install redis-server and rabbitmq-server (Debian's packages) for the broker-fault tests
	@for package in redis-server rabbitmq-server; do \
		command -v $$package >/dev/null 2>&1 || test -x /usr/lib/rabbitmq/bin/$$package || { \
			if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
				echo "installing $$package (Debian package) for the broker-fault tests"; \
				DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$package >/dev/null || \
				echo "could not install $$package: its broker-fault tests will be skipped"; \
			else \
				echo "$$package is not installed (needs root and apt-get): its broker-fault tests will be skipped"; \
			fi; \
		}; \
	done

nginx: ## Install nginx (Debian's package): the bench's reference reverse proxy
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing nginx (Debian package) as the bench's reference proxy"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null || \
			echo "could not install nginx: the bench will run without its reference proxy"; \
		else \
			echo "nginx is not installed (needs root and apt-get): the bench will run without its reference proxy"; \
		fi; \
	}

test: workspace browser brokers nginx ## Run the whole test suite (embedded defaults, or PostgreSQL/Redis from the environment)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: workspace ## Run the in-process tests only (no real processes)
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

lint: install ## Check style with ruff (lint and format)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Fix what ruff can fix
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install nginx ## Measure the platform against its same-run baselines (needs PostgreSQL and Redis)
	$(BIN)/python -m bench

api-schema: workspace ## Record the API document a release promises (docs/api/openapi-v1.json)
	@mkdir -p docs/api
	$(BIN)/python -m tests.api.schema > docs/api/openapi-v1.json
	@echo "wrote docs/api/openapi-v1.json: tests/api/test_compatibility.py now holds changes to it"

catalogue: install ## Regenerate docs/events.md from the event registry
	DEBUG=true DJANGO_SETTINGS_MODULE=hms.settings.users $(BIN)/python manage.py bus_catalogue

clean: ## Remove local databases, broker files and dev keys (var/)
	rm -rf var
