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
	@# tests/test_page.py drives Debian's Chromium (Playwright's own browser download needs the internet):
	@# install it when missing and possible (root + apt-get); never fail here, the test skips with a reason
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
	      || echo "note: apt-get could not install chromium; the browser test will skip"; \
	  else echo "note: no chromium (install it as root: apt-get install -y chromium); the browser test will skip"; fi; \
	fi

demo: install
	$(VENV)/bin/zhie predict examples/article.txt --format table

test: install-test
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q

# Retrain the bundled default model in its six NER stages and its relation head (CPU, about six hours;
# see models/weights/ner/MODEL_CARD.md).
model: install
	$(VENV)/bin/zhie train ner --config configs/ner-default.toml    # stage 1, writes runs/ner-default
	$(VENV)/bin/zhie train ner --config configs/ner-finetune.toml   # stage 2, writes runs/ner-finetune
	$(VENV)/bin/zhie train ner --config configs/ner-crf.toml        # stage 3 (CRF), writes runs/ner-crf
	$(VENV)/bin/zhie train ner --config configs/ner-lexicon.toml    # stage 4 (lexicon features), writes runs/ner-lexicon
	$(VENV)/bin/zhie train ner --config configs/ner-lexicon-more.toml   # stage 5 (400 more steps), writes runs/ner-lexicon-more
	$(VENV)/bin/zhie train re-head --config configs/re-head.toml      # stage 5's head (stage5_relation_*.json)
	$(VENV)/bin/zhie train ner --config configs/experiments/ner-stage6-fgm.toml --base-model runs/ner-lexicon-more   # stage 6's train-only twin
	$(VENV)/bin/zhie train re-head --config configs/re-head.toml --ner-model runs/ner-stage6-fgm -o runs/ner-stage6-fgm   # its head chooses the thresholds on dev
	$(VENV)/bin/zhie train ner --config configs/ner-train-dev.toml     # stage 6 (FGM, + the dev split), writes runs/ner-train-dev
	$(VENV)/bin/zhie train re-head --config configs/re-head-train-dev.toml   # its head, with the twin's thresholds
	rm -rf models/weights/ner && mkdir -p models/weights && cp -r runs/ner-train-dev models/weights/ner
	rm -rf models/weights/ner/checkpoints

clean:
	rm -rf $(VENV) runs
