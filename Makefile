# neuroseller — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench load drills install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev]"
	# the oldest Telethon the gateway supports, beside the newest: the suite runs on both
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/telethon-1.36.0 telethon==1.36.0
	$(BIN)/python -m activities.brain.reader.model
	touch $(STAMP)

install: $(STAMP)

## run: embedded Temporal (+ UI on :8233) and PostgreSQL, the worker, and a local chat with the sample catalog
run: $(STAMP)
	$(BIN)/neuroseller up

## test: the whole suite against a real Temporal dev server and PostgreSQL, coverage enforced (>= 90 %)
test: $(STAMP)
	$(BIN)/python -m activities.brain.reader.model
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=90 -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.chat_latency

## load: human-pace load, 10 and 100 dialogues, rules / 300 ms / 1 s model, next to the one-activity floor
load: $(STAMP)
	$(BIN)/python -m benchmarks.load --dialogues 10,100 --brains rules,300,1000 --duration 60

## drills: failure drills with real processes; ends with the table of drills and outcomes
drills: $(STAMP)
	$(BIN)/pytest tests/drills -v -p no:cacheprovider

clean:
	rm -rf $(VENV) var .pytest_cache .coverage
