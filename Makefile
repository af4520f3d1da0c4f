# The two commands of the README: `make run` and `make test`. Both bootstrap from a clean clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: run test bootstrap reset-db lint format bench clean messages translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found " + sys.version.split()[0] + ").")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

bootstrap: $(VENV)/.installed

run: bootstrap messages
	@python manage.py preflight
	python manage.py migrate --noinput
	python manage.py seed_demo
	@echo
	@echo "  The portal is running at http://localhost:8000/  (admin: http://localhost:8000/admin/)"
	@echo "  Demo staff login: staff@society.example / demo-staff-password (local demo data only)"
	@echo
	honcho start

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .

format: $(VENV)/.installed
	ruff check --fix .
	ruff format .

test: export DJANGO_SETTINGS_MODULE := society.settings.test
test: bootstrap lint messages
	@python manage.py preflight --test-database
	@bash .ci/ensure-chromium
	@bash .ci/ensure-caddy
	@bash .ci/ensure-compose
	@bash .ci/ensure-fonts
	pytest $(PYTEST_ARGS)

# The .mo files are built, never committed: compile every locale/<lang>/LC_MESSAGES/*.po.
messages: bootstrap
	@bash .ci/ensure-gettext
	@python manage.py compilemessages --ignore=.venv -v0

# Re-extract every marked string into locale/<lang>/LC_MESSAGES/django.po (msgmerge keeps the translations).
LOCALES := $(patsubst locale/%/LC_MESSAGES,%,$(wildcard locale/*/LC_MESSAGES))
translations: bootstrap
	@bash .ci/ensure-gettext
	python manage.py makemessages $(addprefix -l ,$(LOCALES)) --ignore='.venv/*' --ignore='node_modules/*' \
		--ignore='staticfiles/*' --ignore='tests/*' --ignore='bench/*'

# Drop and recreate the local database (its demo data too); `make run` then migrates and seeds it again.
reset-db: bootstrap
	@python manage.py preflight --recreate

bench: bootstrap
	@python manage.py preflight
	@for script in bench/*.py; do echo "== $$script"; python "$$script" || exit 1; done

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
	find locale -name '*.mo' -delete
