# ferry's build. Everything is built under build/; conf-compile and conf-home say how and where.
#   make            build every program (build/bin), the library and the tests
#   make check      install missing Debian packages (as root), build, run every test
#   make demo       install missing Debian packages (as root), build, run the main job on ./home
#   make install    install the programs into conf-home's bin (DESTDIR respected)
#   make install-sendmail  link /usr/sbin/sendmail, mailq, ... to ferry-sendmail where nothing is
#   make sanitize   build the programs with ASan, LSan and UBSan and run every test against them
#   make fuzz       build the fuzz harnesses (tests/fuzz, clang: conf-compile line 3) in build/fuzz
#   make bench      run the benchmarks in tests/bench (by hand; writes doc/performance.md);
#                   make bench BENCH=inject runs one again and rewrites only its section

CC_LINE := $(shell head -n 1 conf-compile)
LDLIBS := $(shell sed -n 2p conf-compile)
FUZZ_CC := $(shell sed -n 3p conf-compile)
CONF_HOME := $(shell head -n 1 conf-home)
VERSION := $(shell sed -n 's/^version=//p' package/info)
PROGRAMS := $(shell awk '!/^\#/ && NF { print $$1 }' package/targets)
# extra link flags of a program: the rest of its line in package/targets
extra_libs = $(shell awk -v p=$(1) '$$1 == p { $$1 = "" ; print }' package/targets)
# "static" there: the whole program static, glibc too (the last -Bstatic undoes conf-compile's
# -Bdynamic for the C library); the sanitizer build sets STATIC empty
STATIC := -static -Wl,-Bstatic
link_flags = $(patsubst static,$(STATIC),$(call extra_libs,$(1)))

B := build
CPPFLAGS := -Isrc/include -I$(B)/include -MMD -MP

LIB_SRC := $(wildcard src/libferry/*.c)
LIB_OBJ := $(LIB_SRC:src/libferry/%.c=$(B)/obj/libferry/%.o)
PROG_SRC := $(foreach p,$(PROGRAMS),$(wildcard src/*/$(p).c))
# helpers that only one group of programs needs live beside them: src/GROUP/*.c but ferry-*.c
GROUPS := $(filter-out libferry include,$(notdir $(wildcard src/*)))
group_helpers = $(filter-out src/$(1)/ferry-%.c,$(wildcard src/$(1)/*.c))
GROUP_LIBS := $(foreach g,$(GROUPS),$(if $(call group_helpers,$(g)),$(B)/lib$(g).a))
prog_group = $(notdir $(patsubst %/,%,$(dir $(wildcard src/*/$(1).c))))
PROG_BIN := $(PROGRAMS:%=$(B)/bin/%)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
HELPER_SRC := $(wildcard tests/helpers/*.c) $(wildcard tests/bench/*.c)
HELPER_BIN := $(patsubst %.c,$(B)/tests/helpers/%,$(notdir $(HELPER_SRC)))
GEN_H := $(B)/include/ferry/config.h $(B)/include/ferry/modes.h
SHIM := $(B)/tests/failshim.so
UNIT_LIBS := -lcares -lz
# the fuzz harnesses: every library source compiled again with the sanitizers and libFuzzer's coverage
FUZZ_SRC := $(wildcard tests/fuzz/*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_OBJ := $(patsubst src/%.c,$(B)/fuzz/obj/%.o,$(LIB_SRC) $(foreach g,$(GROUPS),$(call group_helpers,$(g))))

.PHONY: FORCE all progs check sanitize demo install install-sendmail deps-build deps-check deps-demo bench fuzz clean
.SUFFIXES:

all: $(PROG_BIN) $(UNIT_BIN) $(HELPER_BIN) $(SHIM)

$(B)/include/ferry/config.h: conf-home package/info
	@mkdir -p $(@D)
	@{ echo '/* generated from conf-home and package/info by make: do not edit */' ; \
	  echo '#define FERRY_CONF_HOME "$(CONF_HOME)"' ; \
	  echo '#define FERRY_VERSION "$(VERSION)"' ; } > $@.tmp && mv $@.tmp $@

$(B)/include/ferry/modes.h: package/modes package/modes.awk
	@mkdir -p $(@D)
	@awk -f package/modes.awk package/modes > $@.tmp && mv $@.tmp $@

$(B)/obj/libferry/%.o: src/libferry/%.c | $(GEN_H)
	@mkdir -p $(@D)
	$(CC_LINE) $(CPPFLAGS) -c -o $@ $<

# An archive is made again when its list of members changes (a source moved or went), not
# only when a member is newer: ar would keep the old member beside the new ones.
$(B)/%.members: FORCE
	@mkdir -p $(@D)
	@echo '$(MEMBERS)' | cmp -s - $@ || echo '$(MEMBERS)' > $@
$(B)/libferry.members: MEMBERS = $(LIB_OBJ)

$(B)/libferry.a: $(LIB_OBJ) $(B)/libferry.members
	@rm -f $@
	ar rcs $@ $(filter %.o,$^)

define group_rule
$(B)/obj/$(1)/%.o: src/$(1)/%.c | $(GEN_H)
	@mkdir -p $$(@D)
	$(CC_LINE) $(CPPFLAGS) -c -o $$@ $$<
$(B)/lib$(1).members: MEMBERS = $(patsubst src/$(1)/%.c,$(B)/obj/$(1)/%.o,$(call group_helpers,$(1)))
$(B)/lib$(1).a: $(patsubst src/$(1)/%.c,$(B)/obj/$(1)/%.o,$(call group_helpers,$(1))) $(B)/lib$(1).members
	@rm -f $$@
	ar rcs $$@ $$(filter %.o,$$^)
endef
$(foreach g,$(GROUPS),$(if $(call group_helpers,$(g)),$(eval $(call group_rule,$(g)))))

define program_rule
$(B)/obj/progs/$(1).o: $(wildcard src/*/$(1).c) | $(GEN_H)
	@mkdir -p $$(@D)
	$(CC_LINE) $(CPPFLAGS) -c -o $$@ $$<
$(B)/bin/$(1): $(B)/obj/progs/$(1).o $(filter $(B)/lib$(call prog_group,$(1)).a,$(GROUP_LIBS)) $(B)/libferry.a package/targets
	@mkdir -p $$(@D)
	$(CC_LINE) -o $$@ $$(filter %.o %.a,$$^) $(LDLIBS) $(call link_flags,$(1))
endef
# "bare" programs (package/targets): their one source, plain C, static, with musl when it is there
BARE := $(shell awk '!/^\#/ && $$2 == "bare" { print $$1 }' package/targets)
BARE_CC := $(if $(shell command -v musl-gcc),musl-gcc,$(firstword $(CC_LINE)))
# (the sanitizer build, STATIC empty, compiles them as the others, dynamic)
define bare_rule
$(B)/bin/$(1): $(wildcard src/*/$(1).c) package/targets $(B)/include/ferry/config.h
	@mkdir -p $$(@D)
	$(if $(STATIC),$(BARE_CC) $(wordlist 2,999,$(CC_LINE)) -static,$(CC_LINE)) -Isrc/include -I$(B)/include -o $$@ $$<
endef
$(foreach p,$(filter-out $(BARE),$(PROGRAMS)),$(eval $(call program_rule,$(p))))
$(foreach p,$(BARE),$(eval $(call bare_rule,$(p))))

# a source file that moved or went: the dependency files of earlier builds still name it
src/%.c: ;

$(B)/tests/unit/%: tests/unit/%.c $(GROUP_LIBS) $(B)/libferry.a | $(GEN_H)
	@mkdir -p $(@D)
	$(CC_LINE) $(CPPFLAGS) -Isrc -o $@ $< $(GROUP_LIBS) $(B)/libferry.a $(LDLIBS) $(UNIT_LIBS)

$(B)/tests/helpers/%: tests/helpers/%.c $(B)/libferry.a | $(GEN_H)
	@mkdir -p $(@D)
	$(CC_LINE) $(CPPFLAGS) -o $@ $< $(B)/libferry.a $(LDLIBS)

$(B)/tests/helpers/%: tests/bench/%.c $(B)/libferry.a | $(GEN_H)
	@mkdir -p $(@D)
	$(CC_LINE) $(CPPFLAGS) -o $@ $< $(B)/libferry.a $(LDLIBS) $(HELPER_LIBS)

# ferry-smtpd's TLS server, tested with an OpenSSL client
$(B)/tests/unit/smtpd_tls: UNIT_LIBS += -lssl -lcrypto

# the benchmarks' SMTP sink with STARTTLS (tests/bench/tls-sink.c)
$(B)/tests/helpers/tls-sink: HELPER_LIBS = -lssl -lcrypto
# the relay benchmark's SMTP load with STARTTLS (tests/bench/smtp-load.c)
$(B)/tests/helpers/smtp-load: HELPER_LIBS = -lssl -lcrypto

$(B)/fuzz/obj/%.o: src/%.c | $(GEN_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer-no-link $(CPPFLAGS) -c -o $@ $<

$(B)/fuzz/libferry-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libferry-fuzz.a | $(GEN_H)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer $(CPPFLAGS) -Isrc -o $@ $< $(B)/fuzz/libferry-fuzz.a $(LDLIBS) $(UNIT_LIBS)

fuzz: $(FUZZ_BIN)

progs: $(PROG_BIN)

sanitize: deps-check
	@$(MAKE) --no-print-directory all fuzz
	@sh tests/sanitize

# the fault-injection shim of tests/system/faults.py: a shared object, preloaded
$(SHIM): tests/shim/failshim.c
	@mkdir -p $(@D)
	$(CC_LINE) -shared -fPIC -o $@ $< -ldl

deps-build:
	@sh package/deps-install build

deps-check:
	@sh package/deps-install build run test

deps-demo:
	@sh package/deps-install build run

check: deps-check
	@$(MAKE) --no-print-directory all fuzz
	@sh tests/run

demo: deps-demo
	@$(MAKE) --no-print-directory all
	@sh package/demo

install: $(PROG_BIN)
	@sh package/install "$(DESTDIR)" "$(CONF_HOME)" $(B)/bin

install-sendmail:
	@sh package/sendmail-link "$(DESTDIR)" "$(CONF_HOME)"

bench:
	@sh package/deps-install build run test bench
	@$(MAKE) --no-print-directory all
	@sh tests/bench/run $(BENCH)

clean:
	rm -rf $(B)

-include $(shell find $(B) -path $(B)/peers -prune -o -name '*.d' -type f -print 2>/dev/null)
