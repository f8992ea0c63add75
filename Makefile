# etaops developer entry points. `make demo` and `make test` work on a fresh clone:
# each installs what it needs (npm packages, Debian packages, locally built binaries).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export ETAOPS_CACHE ?= $(HOME)/.cache/etaops
NODE_TEST := node --test --test-reporter=spec
UNIT_TESTS = $(shell find dist/test/unit -name '*.test.js' 2>/dev/null | sort)
ALL_TESTS = $(shell find dist/test/unit dist/test/integration dist/test/e2e -name '*.test.js' 2>/dev/null | sort)
E2E_TESTS = $(shell find dist/test/e2e -name '*.test.js' 2>/dev/null | sort)

.PHONY: crds all deps build lint test test-unit demo bench bench-ml bench-serve bench-drift bench-operator bench-soak e2e cluster-up cluster-down clean install-manifest

all: build

# npm ci only when the lock file changed since the last install.
node_modules/.etaops-installed: package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: node_modules/.etaops-installed

build: deps
	./node_modules/.bin/tsc -p tsconfig.json
	chmod +x dist/src/cli/main.js

lint: deps
	./node_modules/.bin/eslint --max-warnings=0 .
	./node_modules/.bin/tsc -p tsconfig.json --noEmit

test-unit: build
	$(NODE_TEST) $(UNIT_TESTS)

# Starts Postgres, the S3 server and the Kubernetes control plane, runs every test in one
# runner (one summary line), then stops what it started.
test: build
	hack/ensure-chromium.sh
	hack/ensure-packaging-tools.sh
	hack/ensure-prometheus.sh
	hack/build-binaries.sh helm
	hack/with-test-env.sh $(NODE_TEST) $(ALL_TESTS)

demo: build
	node dist/src/cli/main.js up

# The end-to-end tests alone (also part of `make test`): the operator loop on the local cluster,
# `make demo`, the drift report in Chromium.
e2e: build
	hack/ensure-chromium.sh
	hack/with-test-env.sh $(NODE_TEST) $(E2E_TESTS)

bench: build
	node dist/test/bench/dataset.bench.js

# etaops vs XGBoost (hist) vs LightGBM on the real sample and 1M generated rows, same features,
# params and threads (test/bench/ml/compare.ts). The Python side lives in a bench-only virtualenv.
BENCH_VENV := test/bench/.venv
$(BENCH_VENV)/.installed: test/bench/ml/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r test/bench/ml/requirements.txt
	touch $@

bench-ml: build $(BENCH_VENV)/.installed
	nice node dist/test/bench/ml/compare.js

# The GBDT learner alone on synthetic 24k and 1M rows: fit seconds, peak RSS, holdout RMSE for
# etaops (1 thread and default threads), LightGBM and XGBoost with identical settings.
.PHONY: bench-gbdt
bench-gbdt: build $(BENCH_VENV)/.installed
	GBDT_BENCH_PYTHON=$(BENCH_VENV)/bin/python nice node dist/test/bench/gbdt.bench.js

# etaops drift vs Evidently (DataDriftPreset) on the real-sample scenarios (agreement table) and
# 1M vs 1M generated rows × 13 columns (speed, peak RSS with raw data vs a saved profile).
# Evidently, SciPy and NumPy live in a bench-only virtualenv (test/bench/.venv-drift).
bench-drift: build
	nice node dist/test/bench/drift/bench.js

# Serving benchmark (test/bench/serve): etaops serve vs a bare node:http ceiling vs the seed's
# Flask + gunicorn + scikit-learn design, which lives in a bench-only virtualenv.
SERVE_VENV := test/bench/.venv-serve
$(SERVE_VENV)/.installed: test/bench/serve/requirements.txt
	python3 -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/pip install --quiet --disable-pip-version-check -r test/bench/serve/requirements.txt
	touch $@

bench-serve: build $(SERVE_VENV)/.installed
	nice node dist/test/bench/serve/bench.js

# The operator under load: many TrainingRuns applied at once against the local control plane.
bench-operator: build
	ETAOPS_TEST_SERVICES=cluster hack/with-test-env.sh nice node dist/test/bench/operator/bench.js

# The predictor held at 70% of its measured maximum (ETAOPS_SOAK_SECONDS, default 600) on loopback.
bench-soak: build
	nice node dist/test/bench/soak/bench.js

cluster-up:
	hack/cluster.sh up

cluster-down:
	hack/cluster.sh down

# Regenerates manifests/install.yaml (the chart with default values, for users without Helm);
# a test fails when it is stale.
install-manifest:
	hack/build-binaries.sh helm
	hack/render-install.sh manifests/install.yaml

# The chart ships copies of dashboards/*.json (Helm reads files inside the chart only);
# test/unit/dashboards.test.ts fails when a copy differs from dashboards/, the one source.
.PHONY: dashboards
dashboards:
	rm -f charts/etaops/dashboards/*.json
	cp dashboards/*.json charts/etaops/dashboards/

# Regenerates crds/*.yaml and the chart's copy from src/api/v1alpha1.ts (the one definition of the kinds).
crds: build
	node dist/src/api/generate-crds.js crds
	node dist/src/api/generate-crds.js charts/etaops/crds

clean:
	rm -rf dist
