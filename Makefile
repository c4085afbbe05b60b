# Thin wrappers over the scripts in bin/ and .ci/; the scripts are the real thing.
#   make start            bin/start: the app at http://127.0.0.1:8000 with demo data
#   make test ARGS="-x"   bin/test with pytest arguments
#   make lint             ruff check .
#   make ci               the whole CI run (.ci/run): needs PostgreSQL and Redis
#   make worker / beat    Celery worker / beat scheduler (set REDIS_URL, see README)

.DEFAULT_GOAL := help
.PHONY: help setup start test lint ci worker beat

ARGS ?=

help:
	@sed -n 's/^#   /  /p' $(firstword $(MAKEFILE_LIST))

setup:
	bin/setup

start:
	bin/start

test:
	bin/test $(ARGS)

lint: setup
	.venv/bin/ruff check .

ci:
	bash .ci/run

worker: setup
	.venv/bin/celery -A mcv worker -l info

beat: setup
	.venv/bin/celery -A mcv beat -l info
