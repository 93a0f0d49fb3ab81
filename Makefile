# Shortcuts for people who have make; the scripts work without it.
.PHONY: run test
run:
	scripts/run
test:
	scripts/test
