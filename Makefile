# Shortcuts; the scripts are the source of truth (make is not needed).
.PHONY: run test ci

run:
	go run ./cmd/rathaus

test:
	./scripts/test

ci:
	./.ci/run
