# insightkb: `make run` and `make test` bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8001
KB ?= insightkb.db

.PHONY: run test bench venv clean test-services

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements/transcribe-pins.txt
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements/transcribe-pins.txt
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(BIN)/insightkb --kb $(KB) demo --host $(HOST) --port $(PORT)

# Debian packages the tests drive for real: chromium (browser tests), dovecot (IMAP tests),
# espeak-ng (speech for the transcription tests).
test-services:
	bash tests/setup-debian.sh /usr/bin/chromium chromium /usr/sbin/dovecot dovecot-imapd /usr/bin/espeak-ng espeak-ng

test: venv test-services
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(KB) $(KB)-wal $(KB)-shm outbox
