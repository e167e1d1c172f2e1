# The project's front door. Each target is a thin wrapper over a script in scripts/, so the
# same steps run the same way from make, from CI (.ci/run = `make test`) and by hand.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help setup lab lab-down lab-status demo test unit integration molecule lint sanity clean

help: ## show the targets
	@echo "appops.runbooks - make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

setup: ## install/start everything needed (idempotent, ~1 s when done)
	@bash scripts/setup.sh

lab: setup ## set up, then start the lab components (lab/*/lab-up.sh)
	@LAB_SKIP_SETUP=1 bash scripts/lab.sh up

lab-down: ## stop the lab components (lab/*/lab-down.sh, reverse order)
	@bash scripts/lab.sh down

lab-status: ## show the engine, compose projects and containers
	@bash scripts/lab.sh status

demo: lab ## set up, start the lab, run the demo (scripts/demo.sh)
	@bash scripts/demo.sh

test: setup ## set up, then every gate (lab up, unit, integration, molecule, lint, sanity)
	@bash scripts/test.sh

unit: setup ## pytest tests/unit
	@bash scripts/test.sh unit

integration: setup ## bring the lab up, then pytest tests/integration tests/emulators
	@bash scripts/test.sh lab integration

molecule: setup ## every extensions/molecule/* scenario (S=name for one: make molecule S=compose)
	@if [[ -n "$(S)" ]]; then bash scripts/molecule.sh $(S); else bash scripts/test.sh molecule; fi

lint: setup ## ansible-lint, production profile, offline
	@bash scripts/test.sh lint

sanity: setup ## ansible-test sanity --python 3.11 on a copy in build/
	@bash scripts/test.sh sanity

clean: ## remove build/ (sanity copy, test reports); keeps .venv and the lab
	rm -rf build

.PHONY: vercel-cli-test
vercel-cli-test: setup ## the real Vercel CLI (npm vercel@64.0.2) runs the runbooks against the emulator (~30 s)
	@.venv/bin/python -m pytest tests/emulators/test_vercel_cli.py -v

.PHONY: heroku-cli-test
heroku-cli-test: setup ## the real Heroku CLI (npm heroku@11.10.0) runs the runbooks against the emulator (~2 min)
	@.venv/bin/python -m pytest tests/emulators/test_heroku_cli.py -v
