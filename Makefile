# ngx_http_media_module + media worker: build, run, test, bench.
#
#   make          build the nginx module and the worker
#   make run      everything in the foreground on 127.0.0.1:8080
#   make start    the same in the background; make stop ends it
#   make test     install what is missing, build, run every suite
#   make bench    benchmarks, each against a reference in the same run

SHELL     := /bin/bash
ROOT      := $(abspath .)
BUILD     := $(ROOT)/build
NGX_SRC   := /usr/share/nginx/src
NGX_TREE  := $(BUILD)/nginx-src
NGX_OBJS  := $(BUILD)/nginx-objs
MODULE_SO := $(BUILD)/ngx_http_media_module.so

MODULE_SRCS := config $(wildcard ngx_module/*.c ngx_module/*.h)

DEB_CFLAGS   = $(shell dpkg-buildflags --get CFLAGS) $(shell dpkg-buildflags --get CPPFLAGS)
DEB_LDFLAGS  = $(shell dpkg-buildflags --get LDFLAGS)
MODULE_WARN := -Wall -Wextra -Wno-unused-parameter -Werror

.PHONY: all module backend deps run start stop test unit unit-module bench clean

all: module backend

deps:
	@scripts/deps.sh

module: $(MODULE_SO)

# Configure a private copy of Debian's nginx source with the stock binary's
# flags (--with-compat) so /usr/sbin/nginx loads the module.
$(NGX_OBJS)/Makefile: config | $(NGX_SRC)
	rm -rf $(NGX_TREE) $(NGX_OBJS)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_TREE)
	cd $(NGX_TREE) && . ./conf_flags && ./configure \
	    --with-cc-opt="$(DEB_CFLAGS) -fPIC $(MODULE_WARN) $(MEDIA_EXTRA_CFLAGS)" \
	    --with-ld-opt="$(DEB_LDFLAGS) -fPIC $(MEDIA_EXTRA_LDFLAGS)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(ROOT) --builddir=$(NGX_OBJS) >$(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

$(MODULE_SO): $(NGX_OBJS)/Makefile $(MODULE_SRCS)
	$(MAKE) -s -f $(NGX_OBJS)/Makefile -C $(NGX_TREE) modules
	cp $(NGX_OBJS)/ngx_http_media_module.so $@.tmp && mv -f $@.tmp $@

$(NGX_SRC):
	@scripts/deps.sh

backend:
	$(MAKE) -C backend

unit: backend module unit-module
	$(MAKE) -C backend unit

# The module's pure-C parts, tested without nginx.
unit-module: $(BUILD)/test_sign $(BUILD)/test_sigv4
	$(BUILD)/test_sign
	$(BUILD)/test_sigv4

$(BUILD)/test_sign: t/unit/test_sign.c ngx_module/ngx_http_media_hmac.c ngx_module/ngx_http_media_hmac.h
	mkdir -p $(BUILD)
	$(CC) -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -Ingx_module \
	    t/unit/test_sign.c ngx_module/ngx_http_media_hmac.c -lcrypto -o $@

$(BUILD)/test_sigv4: t/unit/test_sigv4.c ngx_module/ngx_http_media_sigv4.c ngx_module/ngx_http_media_sigv4.h
	mkdir -p $(BUILD)
	$(CC) -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -Ingx_module \
	    t/unit/test_sigv4.c ngx_module/ngx_http_media_sigv4.c -lcrypto -o $@

run: deps all
	@scripts/stack.sh run

start: deps all
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

test: deps all
	$(MAKE) unit
	t/sdk/check.sh
	t/s3/setup.sh
	prove -I t/lib -r t/

bench: deps all
	@bench/run.sh

clean:
	rm -rf $(BUILD)
	$(MAKE) -C backend clean
