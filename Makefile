# Two entry points for a fresh machine: `make demo` and `make test` (each installs first).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# CPU build of PyTorch; on a GPU machine use e.g. `make demo TORCH=torch` (or install torch first).
TORCH  ?= torch==2.13.0
PYTHON ?= python3

.PHONY: install install-test demo test model clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[train]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[train,test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(VENV)/bin/zhie predict examples/article.txt --format table

test: install-test
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q

# Retrain the bundled default NER model (CPU, about an hour; see models/weights/ner/MODEL_CARD.md).
model: install
	$(VENV)/bin/zhie train ner -o runs/ner-default
	rm -rf models/weights/ner && mkdir -p models/weights && cp -r runs/ner-default models/weights/ner
	rm -rf models/weights/ner/checkpoints

clean:
	rm -rf $(VENV) runs
