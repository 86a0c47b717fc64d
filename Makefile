# Two commands matter (see README): `make demo` and `make test`.
# Both install what they need first (Debian's ngspice + a .venv), once.
PY := .venv/bin/python
STAMP := .venv/.bruno_hil-installed

.PHONY: install demo test test-slow lint bench

$(STAMP): pyproject.toml constraints.txt scripts/install.sh
	bash scripts/install.sh

install: $(STAMP)

demo: $(STAMP)
	.venv/bin/bruno-hil train --out runs/demo-$$(date -u +%Y%m%d-%H%M%S)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -n 2 -m slow

lint: $(STAMP)
	.venv/bin/ruff check bruno_hil tests benchmarks experiments calibration
	.venv/bin/ruff format --check bruno_hil tests benchmarks experiments calibration
	.venv/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/runner_bench.py
	$(PY) benchmarks/chip_throughput.py
	$(PY) benchmarks/bruno_vs_bptt.py
	$(PY) benchmarks/calibration_fit.py
	$(PY) benchmarks/emulator_sweep.py
