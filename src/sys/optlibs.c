/* SPDX-License-Identifier: GPL-2.0-or-later */
/* optlibs.c - libcurl and libmicrohttpd, loaded only by the runs that use them
 *
 * Theory of operation
 *
 * Most runs of nsbridge never speak HTTP: a bridge into netns:NAME or
 * pid:PID needs neither the engine's API (libcurl) nor a metrics server
 * (libmicrohttpd). Linked in, the two would still be mapped into every
 * process, and with them their TLS stacks (OpenSSL, GnuTLS, Kerberos,
 * p11-kit), which nsbridge never uses: 5.4 MB of the relay's 10.8 MB
 * resident at rest, paid again by each helper, and relocated at every
 * start.
 *
 * So the binary is not linked with them. This file defines, under their
 * own names, the few functions of theirs that nsbridge calls, as the
 * headers declare them. The first call of either library dlopen()s it
 * and resolves every function of its table at once; each definition
 * then jumps to the library's. The callers are unchanged, and read as
 * plain libcurl and libmicrohttpd.
 *
 * Resolving the whole table at the first call matters for the relay's
 * sandbox (sandbox.c), which forbids executable mappings: both libraries
 * are first called before it is entered (a container located by name at
 * start, metrics_setup()), so that later calls (MHD_run() in the loop)
 * make no system call to find their function. The engine watcher, a
 * child outside the sandbox, loads libcurl itself if it has to.
 *
 * The first user of each asks for it by name (optlibs_need_curl() in
 * engine.c, optlibs_need_mhd() in metrics.c), so that a library that
 * cannot be loaded is the one line the user reads, naming the package to
 * install. A function called without that (the engine watcher's) logs
 * the line once, and then fails the way it fails on its own (NULL,
 * CURLE_FAILED_INIT, MHD_NO).
 */

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nsbridge/failure.h"
#include "nsbridge/log.h"
#include "nsbridge/optlibs.h"

#define OPTLIB_WHY_MAX	160

struct optlib {
	const char *soname;	/* the name Debian's package installs */
	const char *package;	/* what to install when it is missing */
	const char *const *names;	/* functions, in the order of fns */
	void (**fns)(void);	/* each cast to its own type where it is called */
	size_t n;
	bool tried;
	bool loaded;
	bool said;	/* why it failed was logged, or handed to a caller */
	char why[OPTLIB_WHY_MAX];
};

/* dlopen @lib and resolve its table, once; true if every function is there */
static bool optlib_open(struct optlib *lib)
{
	void *h;

	if (lib->tried)
		return lib->loaded;
	lib->tried = true;
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(lib->why, sizeof(lib->why), "%s", dlerror());
		return false;
	}
	for (size_t i = 0; i < lib->n; i++) {
		void *sym = dlsym(h, lib->names[i]);

		/* ISO C has no cast from object to function pointer; POSIX makes
		 * them the same size, so the bytes carry over */
		memcpy(&lib->fns[i], &sym, sizeof(sym));
		if (!sym) {
			snprintf(lib->why, sizeof(lib->why), "it has no %s", lib->names[i]);
			return false;
		}
	}
	lib->loaded = true;
	return true;
}

/* @lib for a function of its that was called: why not, said once */
static bool optlib_load(struct optlib *lib)
{
	if (optlib_open(lib))
		return true;
	if (!lib->said)
		log_error("cannot load %s (package %s): %s", lib->soname, lib->package, lib->why);
	lib->said = true;
	return false;
}

/* @lib for its first user, who says why not in @f */
static int optlib_need(struct optlib *lib, struct failure *f)
{
	if (optlib_open(lib))
		return 0;
	lib->said = true;
	return failure_set(f, EXIT_RUNTIME, -ELIBACC, "cannot load %s (install package %s): %s",
			   lib->soname, lib->package, lib->why);
}

/* --- libcurl: the engine's API (engine.c, watcher.c) --- */

enum {
	CU_EASY_INIT, CU_EASY_CLEANUP, CU_EASY_SETOPT, CU_EASY_GETINFO, CU_EASY_PERFORM,
	CU_EASY_STRERROR, CU_EASY_ESCAPE, CU_FREE, CU_MULTI_INIT, CU_MULTI_ADD_HANDLE,
	CU_MULTI_REMOVE_HANDLE, CU_MULTI_PERFORM, CU_MULTI_POLL, CU_MULTI_INFO_READ, CU_MAX
};

static const char *const curl_names[CU_MAX] = {
	"curl_easy_init", "curl_easy_cleanup", "curl_easy_setopt", "curl_easy_getinfo",
	"curl_easy_perform", "curl_easy_strerror", "curl_easy_escape", "curl_free",
	"curl_multi_init", "curl_multi_add_handle", "curl_multi_remove_handle",
	"curl_multi_perform", "curl_multi_poll", "curl_multi_info_read",
};
static void (*curl_fns[CU_MAX])(void);
static struct optlib libcurl = {
	"libcurl.so.4", "libcurl4", curl_names, curl_fns, CU_MAX, false, false, false, ""
};

/**
 * optlibs_need_curl() - load libcurl, for the engine's API
 * @f:		on failure, the line that names the package to install
 *
 * Return: 0, or -ELIBACC with @f set
 */
int optlibs_need_curl(struct failure *f)
{
	return optlib_need(&libcurl, f);
}

/* fn: the library's function @i, typed as the header declares @name; or return @fail */
#define CURL_FN(name, i, fail)							\
	__typeof__(&name) fn = optlib_load(&libcurl) ? (__typeof__(&name))curl_fns[i] : NULL; \
	if (!fn)								\
		return fail

/* curl.h makes these macros (a type check) under gcc: define the functions */
#undef curl_easy_setopt
#undef curl_easy_getinfo

CURL *curl_easy_init(void)
{
	CURL_FN(curl_easy_init, CU_EASY_INIT, NULL);
	return fn();
}

void curl_easy_cleanup(CURL *curl)
{
	CURL_FN(curl_easy_cleanup, CU_EASY_CLEANUP, );
	fn(curl);
}

/* The option's number says the type of its argument (CURLOPTTYPE_*) */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	CURL_FN(curl_easy_setopt, CU_EASY_SETOPT, CURLE_FAILED_INIT);
	CURLcode r;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		r = fn(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		r = fn(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		r = fn(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		r = fn(curl, option, va_arg(ap, curl_off_t));
	else
		r = fn(curl, option, va_arg(ap, void *));
	va_end(ap);
	return r;
}

/* Every CURLINFO takes a pointer to where its answer goes */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	CURL_FN(curl_easy_getinfo, CU_EASY_GETINFO, CURLE_FAILED_INIT);
	CURLcode r;
	va_list ap;

	va_start(ap, info);
	r = fn(curl, info, va_arg(ap, void *));
	va_end(ap);
	return r;
}

CURLcode curl_easy_perform(CURL *curl)
{
	CURL_FN(curl_easy_perform, CU_EASY_PERFORM, CURLE_FAILED_INIT);
	return fn(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
	CURL_FN(curl_easy_strerror, CU_EASY_STRERROR, "libcurl is not loaded");
	return fn(code);
}

char *curl_easy_escape(CURL *curl, const char *string, int length)
{
	CURL_FN(curl_easy_escape, CU_EASY_ESCAPE, NULL);
	return fn(curl, string, length);
}

void curl_free(void *p)
{
	CURL_FN(curl_free, CU_FREE, );
	fn(p);
}

CURLM *curl_multi_init(void)
{
	CURL_FN(curl_multi_init, CU_MULTI_INIT, NULL);
	return fn();
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
	CURL_FN(curl_multi_add_handle, CU_MULTI_ADD_HANDLE, CURLM_INTERNAL_ERROR);
	return fn(multi, curl);
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
	CURL_FN(curl_multi_remove_handle, CU_MULTI_REMOVE_HANDLE, CURLM_INTERNAL_ERROR);
	return fn(multi, curl);
}

CURLMcode curl_multi_perform(CURLM *multi, int *running)
{
	CURL_FN(curl_multi_perform, CU_MULTI_PERFORM, CURLM_INTERNAL_ERROR);
	return fn(multi, running);
}

CURLMcode curl_multi_poll(CURLM *multi, struct curl_waitfd extra[], unsigned n_extra,
			  int timeout_ms, int *ret)
{
	CURL_FN(curl_multi_poll, CU_MULTI_POLL, CURLM_INTERNAL_ERROR);
	return fn(multi, extra, n_extra, timeout_ms, ret);
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *msgs_left)
{
	CURL_FN(curl_multi_info_read, CU_MULTI_INFO_READ, NULL);
	return fn(multi, msgs_left);
}

/* --- libmicrohttpd: --metrics (metrics.c) --- */

enum {
	MH_START_DAEMON_VA, MH_STOP_DAEMON, MH_RUN, MH_GET_TIMEOUT, MH_GET_DAEMON_INFO,
	MH_CREATE_RESPONSE, MH_ADD_RESPONSE_HEADER, MH_QUEUE_RESPONSE, MH_DESTROY_RESPONSE,
	MH_MAX
};

static const char *const mhd_names[MH_MAX] = {
	"MHD_start_daemon_va", "MHD_stop_daemon", "MHD_run", "MHD_get_timeout",
	"MHD_get_daemon_info", "MHD_create_response_from_buffer_with_free_callback",
	"MHD_add_response_header", "MHD_queue_response", "MHD_destroy_response",
};
static void (*mhd_fns[MH_MAX])(void);
static struct optlib libmhd = {
	"libmicrohttpd.so.12", "libmicrohttpd12", mhd_names, mhd_fns, MH_MAX, false, false, false, ""
};

/**
 * optlibs_need_mhd() - load libmicrohttpd, for --metrics
 * @f:		on failure, the line that names the package to install
 *
 * Return: 0, or -ELIBACC with @f set
 */
int optlibs_need_mhd(struct failure *f)
{
	return optlib_need(&libmhd, f);
}

#define MHD_FN(name, i, fail)							\
	__typeof__(&name) fn = optlib_load(&libmhd) ? (__typeof__(&name))mhd_fns[i] : NULL; \
	if (!fn)								\
		return fail

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				    MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	MHD_FN(MHD_start_daemon_va, MH_START_DAEMON_VA, NULL);
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = fn(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
	MHD_FN(MHD_stop_daemon, MH_STOP_DAEMON, );
	fn(daemon);
}

enum MHD_Result MHD_run(struct MHD_Daemon *daemon)
{
	MHD_FN(MHD_run, MH_RUN, MHD_NO);
	return fn(daemon);
}

enum MHD_Result MHD_get_timeout(struct MHD_Daemon *daemon, MHD_UNSIGNED_LONG_LONG *timeout)
{
	MHD_FN(MHD_get_timeout, MH_GET_TIMEOUT, MHD_NO);
	return fn(daemon, timeout);
}

/* The infos nsbridge asks (epoll fd, connections) take no argument */
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon,
						enum MHD_DaemonInfoType info_type, ...)
{
	MHD_FN(MHD_get_daemon_info, MH_GET_DAEMON_INFO, NULL);
	return fn(daemon, info_type);
}

struct MHD_Response *
MHD_create_response_from_buffer_with_free_callback(size_t size, void *buffer,
						   MHD_ContentReaderFreeCallback crfc)
{
	MHD_FN(MHD_create_response_from_buffer_with_free_callback, MH_CREATE_RESPONSE, NULL);
	return fn(size, buffer, crfc);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response, const char *header,
					const char *content)
{
	MHD_FN(MHD_add_response_header, MH_ADD_RESPONSE_HEADER, MHD_NO);
	return fn(response, header, content);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
				   struct MHD_Response *response)
{
	MHD_FN(MHD_queue_response, MH_QUEUE_RESPONSE, MHD_NO);
	return fn(connection, status_code, response);
}

void MHD_destroy_response(struct MHD_Response *response)
{
	MHD_FN(MHD_destroy_response, MH_DESTROY_RESPONSE, );
	fn(response);
}
