/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - Docker and Podman containers by name, over the engine's API socket
 *
 * Theory of operation
 *
 * Docker and Podman serve the same HTTP API on a unix socket: DOCKER_HOST
 * (unix:// only) alone if it is set, else each of these that exists, in
 * turn, until one knows the container:
 *   /var/run/docker.sock, /run/podman/podman.sock    the system's engines
 *   $XDG_RUNTIME_DIR/podman/podman.sock               the user's rootless
 *   $XDG_RUNTIME_DIR/docker.sock                      Podman and Docker
 *   /run/user/$SUDO_UID/podman/podman.sock, .../docker.sock
 *                                                     under sudo, those of
 *                                                     the user who ran it
 * An ordinary user asks its own first: those are the containers it can
 * enter. libcurl speaks HTTP over it and json-c reads the answers; nothing here
 * parses HTTP or JSON by hand.
 *
 * A REF is resolved the way a user means it:
 *   1. GET /containers/REF/json - the engine itself knows names, full IDs
 *      and unique ID prefixes;
 *   2. if it knows no such container, GET /containers/json?all=1 and
 *      look for a compose service of that name (the
 *      com.docker.compose.service label) with exactly one running
 *      container.
 * Each failure says what the user can do about it: close names that do
 * exist, the candidates of an ambiguous service, the socket that could not
 * be reached and why.
 *
 * State.Pid is a pid of the engine's own pid namespace. That is ours,
 * except for rootless Docker under RootlessKit's --pidns: then the engine
 * (the socket's peer, SO_PEERCRED) is in a pid namespace below ours, and
 * the pid is resolved to ours (host_pid()): the process whose NSpid has
 * the pid at the engine's level and that is the one the engine's own
 * /proc (/proc/ENGINE/root/proc/PID) shows.
 *
 * With --labels, every socket of that list is watched (engine_sockets_all())
 * and asked for its running containers that carry PREFIX.bridges
 * (engine_list_labelled(): GET /containers/json filtered by label).
 *
 * Calls block; they are made at start and by the engine watcher, never by
 * the relay's loop.
 */

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nsbridge/cleanup.h"
#include "nsbridge/engine.h"
#include "nsbridge/failure.h"
#include "nsbridge/optlibs.h"
#include "nsbridge/netns.h"

#define ENGINE_REPLY_MAX	(8u << 20)	/* a list of many containers fits */
#define ENGINE_TIMEOUT_S	10L
#define CLOSE_NAMES_MAX		5
#define COMPOSE_SERVICE_LABEL	"com.docker.compose.service"

#define NSPID_MAX		32	/* pid namespaces nest 32 deep at most */

static const char *const default_sockets[] = {
	"/var/run/docker.sock",
	"/run/podman/podman.sock",
};

/* A user's rootless engines, under its runtime directory */
static const char *const user_sockets[] = {
	"podman/podman.sock",
	"docker.sock",
};

/**
 * struct engine_sockets - the sockets to ask, in order
 * @path:	each socket's path
 * @n:		how many
 */
struct engine_sockets {
	char path[ENGINE_SOCKETS_MAX][ENGINE_PATH_MAX];
	unsigned n;
};

/**
 * struct http_reply - an answer of the engine
 * @status:	HTTP status, 0 if none came
 * @body:	its body, NUL-terminated, malloc'ed
 * @len:	bytes in @body
 */
struct http_reply {
	long status;
	char *body;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
	struct http_reply *reply = userdata;
	size_t add = size * n;
	char *body;

	if (reply->len + add > ENGINE_REPLY_MAX)
		return 0;	/* curl fails the transfer */
	body = realloc(reply->body, reply->len + add + 1);
	if (!body)
		return 0;
	memcpy(body + reply->len, data, add);
	reply->body = body;
	reply->len += add;
	body[reply->len] = '\0';
	return add;
}

/*
 * The engine's line for the user, at most ENGINE_WHY_MAX - 1 characters;
 * the exit status is the caller's, by @r (main.c's open_failure())
 */
#define engine_fail(f, r, ...) \
	failure_setn(f, ENGINE_WHY_MAX, EXIT_RUNTIME, r, __VA_ARGS__)

/*
 * Whose is a socket this user may not use: the owner of the socket, or
 * of the nearest directory above it that can be seen (another user's
 * runtime directory is 0700). Only an ordinary user's owner is named:
 * root's sockets are the system's engines, where group membership helps.
 */
static bool foreign_owner(const char *sock_path, uid_t *ret)
{
	char path[ENGINE_PATH_MAX], *slash;
	struct stat st;

	snprintf(path, sizeof(path), "%s", sock_path);
	while (stat(path, &st) < 0) {
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return false;
		*slash = '\0';
	}
	*ret = st.st_uid;
	return st.st_uid != 0 && st.st_uid != geteuid();
}

/* A transport failure: which socket, and why, as -errno */
static int transport_error(const char *sock_path, CURLcode code, long os_errno,
			   struct failure *f)
{
	int err = os_errno ? (int)os_errno : ECONNREFUSED;
	uid_t owner;

	if (code != CURLE_COULDNT_CONNECT) {
		return engine_fail(f, -EPROTO, "the engine at %s did not answer: %s", sock_path,
			       curl_easy_strerror(code));
	}
	if ((err == EACCES || err == EPERM) && foreign_owner(sock_path, &owner)) {
		struct passwd *pw = getpwuid(owner);

		return engine_fail(f, -EACCES, "cannot use the engine socket %s of user %s (uid %u): "
			       "%s; run nsbridge as that user, or as root", sock_path,
			       pw ? pw->pw_name : "?", (unsigned)owner, strerror(err));
	}
	if (err == EACCES || err == EPERM) {
		return engine_fail(f, -EACCES, "cannot use the engine socket %s: %s (run as root "
			       "or as a member of the socket's group)", sock_path, strerror(err));
	}
	return engine_fail(f, -ENOTCONN, "cannot reach the engine socket %s: %s", sock_path,
		       strerror(err));
}

static int http_get(const char *sock_path, const char *path, struct http_reply *reply,
		    struct failure *f)
{
	char url[512];
	long os_errno = 0;
	CURLcode code;
	CURL *curl;

	memset(reply, 0, sizeof(*reply));
	curl = curl_easy_init();
	if (!curl)
		return -ENOMEM;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, ENGINE_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_cleanup(curl);
	if (code != CURLE_OK) {
		free(reply->body);
		reply->body = NULL;
		return transport_error(sock_path, code, os_errno, f);
	}
	return 0;
}

static void add_socket(struct engine_sockets *l, const char *dir, const char *name)
{
	int n;

	if (l->n >= ENGINE_SOCKETS_MAX || !dir || dir[0] != '/')
		return;
	n = snprintf(l->path[l->n], ENGINE_PATH_MAX, "%s%s%s", dir, name ? "/" : "",
		     name ? name : "");
	if (n > 0 && n < ENGINE_PATH_MAX)
		l->n++;
}

static void add_user_sockets(struct engine_sockets *l, const char *runtime_dir)
{
	for (size_t i = 0; i < sizeof(user_sockets) / sizeof(user_sockets[0]); i++)
		add_socket(l, runtime_dir, user_sockets[i]);
}

/* The invoking user's runtime directory under sudo, if SUDO_UID names one */
static const char *sudo_runtime_dir(char *buf, size_t len)
{
	const char *uid = getenv("SUDO_UID");
	char *end;
	unsigned long v;

	if (!uid || *uid < '0' || *uid > '9')
		return NULL;
	v = strtoul(uid, &end, 10);
	if (*end || v == 0 || v >= 0xffffffffUL)
		return NULL;
	snprintf(buf, len, "/run/user/%lu", v);
	return buf;
}

/* Every socket to consider, in the order they are asked */
static void candidates(struct engine_sockets *l)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char sudo_dir[64];

	l->n = 0;
	if (geteuid() != 0)
		add_user_sockets(l, xdg);
	for (size_t i = 0; i < sizeof(default_sockets) / sizeof(default_sockets[0]); i++)
		add_socket(l, default_sockets[i], NULL);
	if (geteuid() == 0) {
		add_user_sockets(l, sudo_runtime_dir(sudo_dir, sizeof(sudo_dir)));
		add_user_sockets(l, xdg);
	}
}

/* DOCKER_HOST alone, when set: 1 if it is, 0 if not, -EINVAL if not unix:// */
static int docker_host(struct engine_sockets *l, struct failure *f)
{
	const char *host = getenv("DOCKER_HOST");

	if (!host || !*host)
		return 0;
	if (strncmp(host, "unix://", 7) != 0) {
		return engine_fail(f, -EINVAL, "DOCKER_HOST=%s: only unix:// sockets are supported",
			       host);
	}
	l->n = 0;
	add_socket(l, host + 7, NULL);
	return 1;
}

/**
 * engine_sockets_text() - the sockets asked when DOCKER_HOST is not set,
 *			   for messages and --help
 * @buf:	where the text goes
 * @len:	room in @buf
 *
 * Return: @buf
 */
const char *engine_sockets_text(char *buf, size_t len)
{
	struct engine_sockets l;
	size_t used = 0;

	buf[0] = '\0';
	candidates(&l);
	for (unsigned i = 0; i < l.n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", l.path[i]);
	return buf;
}

/**
 * engine_socket_path() - the first engine socket that exists
 * @ret_path:	the path, on success
 * @len:	room in @ret_path
 * @f:		on failure, one line saying what was tried; NULL for none
 *
 * Return: 0, -EINVAL for a DOCKER_HOST that is not unix://, -ENOENT if no
 * socket exists
 */
int engine_socket_path(char *ret_path, size_t len, struct failure *f)
{
	struct engine_sockets l;
	char tried[ENGINE_SOCKETS_MAX * ENGINE_PATH_MAX];
	int r = docker_host(&l, f);

	if (r < 0)
		return r;
	if (r == 0)
		candidates(&l);
	for (unsigned i = 0; i < l.n; i++) {
		if (r == 1 || access(l.path[i], F_OK) == 0 || errno == EACCES) {
			snprintf(ret_path, len, "%s", l.path[i]);
			return 0;
		}
	}
	return engine_fail(f, -ENOENT, "no container engine socket: none of %s exists "
		       "(is Docker or Podman running? DOCKER_HOST names another socket)",
		       engine_sockets_text(tried, sizeof(tried)));
}

/* _cleanup_(json_object_putp): a parsed document, put on every way out */
DEFINE_CLEANUP_FUNC(struct json_object *, json_object_put)

static const char *json_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The engine's own explanation of an error answer */
static int engine_error(const struct http_reply *reply, const char *what, struct failure *f)
{
	struct json_object *obj = json_tokener_parse(reply->body ? reply->body : "");
	const char *msg = obj ? json_str(obj, "message") : NULL;

	engine_fail(f, -EPROTO, "the engine refused %s: HTTP %ld%s%s", what, reply->status,
		msg ? ": " : "", msg ? msg : "");
	json_object_put(obj);
	return -EPROTO;
}

static int parse_inspect(const char *body, struct engine_container *ret)
{
	struct json_object *obj = json_tokener_parse(body), *state, *v;
	const char *id, *name;
	int r = -EBADMSG;

	if (!obj)
		return r;
	id = json_str(obj, "Id");
	name = json_str(obj, "Name");
	if (id && name && json_object_object_get_ex(obj, "State", &state)) {
		memset(ret, 0, sizeof(*ret));
		snprintf(ret->id, sizeof(ret->id), "%s", id);
		snprintf(ret->name, sizeof(ret->name), "%s", name[0] == '/' ? name + 1 : name);
		if (json_object_object_get_ex(state, "Running", &v))
			ret->running = json_object_get_boolean(v);
		if (json_object_object_get_ex(state, "Pid", &v))
			ret->pid = (pid_t)json_object_get_int(v);
		r = 0;
	}
	json_object_put(obj);
	return r;
}

/* GET /containers/REF/json: 0, -ENOENT if the engine knows no such REF */
static int inspect(const char *sock_path, const char *ref, struct engine_container *ret,
		   struct failure *f)
{
	struct http_reply reply;
	char path[512], *escaped;
	int r;

	escaped = curl_easy_escape(NULL, ref, 0);
	if (!escaped)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/containers/%s/json", escaped);
	curl_free(escaped);
	r = http_get(sock_path, path, &reply, f);
	if (r < 0)
		return r;
	if (reply.status == 404)
		r = -ENOENT;
	else if (reply.status != 200)
		r = engine_error(&reply, "the container lookup", f);
	else if (parse_inspect(reply.body, ret) < 0)
		r = engine_fail(f, -EBADMSG, "the engine's answer about %s was not understood",
			    ref);
	free(reply.body);
	return r;
}

/* Edit distance of two short names, for "did you mean" */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[ENGINE_NAME_MAX + 1];

	if (la > ENGINE_NAME_MAX || lb > ENGINE_NAME_MAX)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static bool close_name(const char *ref, const char *name)
{
	return strstr(name, ref) || strstr(ref, name) || distance(ref, name) <= 2;
}

/**
 * struct listing - what the list of containers says about a REF
 * @running:	running containers of compose service REF
 * @n_running:	how many
 * @stopped:	a stopped container of compose service REF, if any
 * @close:	names close to REF, ", "-separated
 * @n_close:	how many
 */
struct listing {
	char running[4][ENGINE_NAME_MAX];
	unsigned n_running;
	char stopped[ENGINE_NAME_MAX];
	char close[CLOSE_NAMES_MAX * 64];
	unsigned n_close;
};

static void note_close_name(struct listing *l, const char *name)
{
	size_t used = strlen(l->close);

	if (l->n_close >= CLOSE_NAMES_MAX)
		return;
	snprintf(l->close + used, sizeof(l->close) - used, "%s%s", l->n_close ? ", " : "", name);
	l->n_close++;
}

static void list_one(struct json_object *ct, const char *ref, struct listing *l)
{
	struct json_object *names, *labels;
	const char *name = "", *service = NULL, *state = json_str(ct, "State");

	if (json_object_object_get_ex(ct, "Names", &names) &&
	    json_object_array_length(names) > 0)
		name = json_object_get_string(json_object_array_get_idx(names, 0));
	if (name[0] == '/')
		name++;
	if (json_object_object_get_ex(ct, "Labels", &labels) && labels)
		service = json_str(labels, COMPOSE_SERVICE_LABEL);
	if (service && !strcmp(service, ref)) {
		if (state && !strcmp(state, "running")) {
			if (l->n_running < 4)
				snprintf(l->running[l->n_running], ENGINE_NAME_MAX, "%s", name);
			l->n_running++;
		} else {
			snprintf(l->stopped, sizeof(l->stopped), "%s", name);
		}
	}
	if (close_name(ref, name))
		note_close_name(l, name);
}

static int list_containers(const char *sock_path, const char *ref, struct listing *ret,
			   struct failure *f)
{
	_cleanup_(json_object_putp) struct json_object *arr = NULL;
	struct http_reply reply;
	int r;

	r = http_get(sock_path, "/containers/json?all=1", &reply, f);
	if (r < 0)
		return r;
	if (reply.status != 200) {
		r = engine_error(&reply, "the list of containers", f);
		free(reply.body);
		return r;
	}
	arr = json_tokener_parse(reply.body);
	free(reply.body);
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		return engine_fail(f, -EBADMSG, "the engine's list of containers was not "
			       "understood");
	}
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		list_one(json_object_array_get_idx(arr, i), ref, ret);
	return 0;
}

/* REF is not a container the engine knows: a compose service, or nothing */
static int find_service(const char *sock_path, const char *ref, struct engine_container *ret,
			struct failure *f)
{
	struct listing l;
	int r;

	r = list_containers(sock_path, ref, &l, f);
	if (r < 0)
		return r;
	if (l.n_running == 1)
		return inspect(sock_path, l.running[0], ret, f);
	if (l.n_running > 1) {
		return engine_fail(f, -ENOTUNIQ, "compose service '%s' has %u running containers "
			       "(%s, %s%s); name one of them", ref, l.n_running, l.running[0],
			       l.running[1], l.n_running > 2 ? ", ..." : "");
	}
	if (l.stopped[0]) {
		return engine_fail(f, -ESRCH, "compose service '%s' (container %s) is not running",
			       ref, l.stopped);
	}
	if (l.n_close)
		return engine_fail(f, -ENOENT, "no container '%s'; did you mean: %s?", ref, l.close);
	return engine_fail(f, -ENOENT, "no container '%s' ('docker ps -a' lists those that exist)",
		       ref);
}

/* The pid of the process serving SOCK_PATH, as our pid namespace sees it; 0 if unknown */
static pid_t engine_peer(const char *sock_path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	int fd;

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		cred.pid = 0;
	close(fd);
	return cred.pid;
}

/* PATH's NSpid: the process's pids from our pid namespace inwards; how many, or -errno */
static int nspid(const char *path, pid_t ret_ids[NSPID_MAX])
{
	char line[512];
	int n = -ENOENT;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (n = 0; n < NSPID_MAX; n++) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ret_ids[n] = (pid_t)v;
			p = end;
		}
		break;
	}
	fclose(f);
	return n;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * PID of the engine at SOCK_PATH, in our pid namespace: itself unless the
 * engine runs in a pid namespace of its own (RootlessKit --pidns). Then
 * the candidates are the processes with PID at the engine's level of
 * NSpid, and the one in the pid namespace that the engine's /proc shows
 * for PID is it: a pid is unique within its namespace.
 */
static int host_pid(const char *sock_path, pid_t pid, pid_t *ret_pid)
{
	pid_t engine = engine_peer(sock_path), ids[NSPID_MAX], found = 0;
	char path[128], want[128];
	struct dirent *de;
	int level;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)engine);
	if (engine <= 0 || same_file(path, "/proc/self/ns/pid") || access(path, F_OK) < 0) {
		*ret_pid = pid;		/* our namespace's, or one we cannot tell */
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)engine);
	level = nspid(path, ids) - 1;
	snprintf(want, sizeof(want), "/proc/%d/root/proc/%d/ns/pid", (int)engine, (int)pid);
	if (level < 1 || access(want, F_OK) < 0)
		return -ESRCH;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!found && (de = readdir(d))) {
		pid_t cand = (pid_t)atoi(de->d_name);

		snprintf(path, sizeof(path), "/proc/%d/status", (int)cand);
		if (cand <= 0 || nspid(path, ids) <= level || ids[level] != pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)cand);
		if (same_file(path, want))
			found = cand;
	}
	closedir(d);
	if (!found)
		return -ESRCH;
	*ret_pid = found;
	return 0;
}

/*
 * Which process is the init of @ct: its pid, and that pid's start time,
 * read now and confirmed by asking the engine again. Had the container
 * died between the engine's first answer and the read, and its pid gone
 * to another process, the second answer would not name that pid running.
 */
static int identify(const char *sock_path, struct engine_container *ct, pid_t engine_pid,
		    struct failure *f)
{
	struct engine_container again;
	int r = netns_pid_start(ct->pid, &ct->start);

	if (r == 0)
		r = inspect(sock_path, ct->id, &again, f);
	if (r == 0 && (!again.running || again.pid != engine_pid))
		r = -ESRCH;
	if (r == -ESRCH || r == -ENOENT) {
		return engine_fail(f, -ESRCH, "container %s stopped while it was being looked up",
			       ct->name);
	}
	return r;
}

/**
 * engine_find() - the container a REF names, running
 * @sock_path:	the engine's socket (engine_socket_path())
 * @ref:	a name, an ID or a unique prefix of one, or a compose service
 * @ret:	the container, on success; its pid is one of our pid namespace,
 *		its start time read after the engine named the pid and before
 *		the engine confirmed it (identify())
 * @f:		on failure, one line for the user; NULL for none
 *
 * Return: 0, or -ENOENT no such container, -ESRCH not running (or its pid
 * not to be found in our pid namespace), -ENOTUNIQ
 * ambiguous, -EACCES socket not allowed, -ENOTCONN socket missing or not
 * answering, -EPROTO/-EBADMSG the engine answered an error or nonsense
 */
int engine_find(const char *sock_path, const char *ref, struct engine_container *ret,
		struct failure *f)
{
	struct engine_container ct;
	pid_t engine_pid;
	int r;

	r = inspect(sock_path, ref, &ct, f);
	if (r == -ENOENT)
		r = find_service(sock_path, ref, &ct, f);
	if (r < 0)
		return r;
	if (!ct.running || ct.pid <= 0) {
		return engine_fail(f, -ESRCH, "container %s is not running", ct.name);
	}
	engine_pid = ct.pid;
	r = host_pid(sock_path, ct.pid, &ct.pid);
	if (r < 0) {
		return engine_fail(f, r, "container %s runs as pid %d of the pid namespace of the "
			       "engine at %s, which nsbridge cannot find in its own", ct.name,
			       (int)ct.pid, sock_path);
	}
	r = identify(sock_path, &ct, engine_pid, f);
	if (r < 0)
		return r;
	*ret = ct;
	return 0;
}

/* Whether the next socket may know REF better than this one's answer */
static bool try_next(int r)
{
	return r == -ENOENT || r == -ENOTCONN || r == -EACCES;
}

/**
 * engine_locate() - the container a REF names, asking each engine socket
 *		     in turn (DOCKER_HOST alone when it is set)
 * @ref:	as for engine_find()
 * @ret:	the container, on success
 * @ret_sock:	the socket of the engine that knew it, ENGINE_PATH_MAX long,
 *		for watching that engine afterwards
 * @f:		on failure, one line for the user: the first socket's answer
 *
 * Return: 0, or as engine_find(), and -ENOTCONN when no socket exists
 */
int engine_locate(const char *ref, struct engine_container *ret, char *ret_sock,
		  struct failure *f)
{
	char path[ENGINE_PATH_MAX];
	struct engine_sockets l;
	int first = 0, r = optlibs_need_curl(f);

	if (r < 0)
		return r;
	r = docker_host(&l, f);
	if (r < 0)
		return r;
	if (r == 0)
		candidates(&l);
	for (unsigned i = 0; i < l.n; i++) {
		if (l.n > 1 && access(l.path[i], F_OK) < 0 && errno != EACCES)
			continue;	/* an engine that is not there */
		struct failure answer = FAILURE_INIT;

		r = engine_find(l.path[i], ref, ret, &answer);
		if (r == 0) {
			snprintf(ret_sock, ENGINE_PATH_MAX, "%s", l.path[i]);
			return 0;
		}
		if (f && (!first || !try_next(r)))
			*f = answer;
		if (!try_next(r))
			return r;
		if (!first)
			first = r;
	}
	if (first)
		return first;
	engine_socket_path(path, sizeof(path), f);	/* says what was tried */
	return -ENOTCONN;
}

/**
 * engine_sockets_all() - every engine socket nsbridge knows, in the order
 *			  REFs are resolved: DOCKER_HOST alone when it is set
 * @ret:	the paths
 * @max:	room in @ret
 *
 * Return: how many; sockets that do not exist (yet) are included
 */
unsigned engine_sockets_all(char ret[][ENGINE_PATH_MAX], unsigned max)
{
	struct engine_sockets l;
	unsigned n = 0;

	if (docker_host(&l, NULL) == 0)
		candidates(&l);
	for (unsigned i = 0; i < l.n && n < max; i++)
		snprintf(ret[n++], ENGINE_PATH_MAX, "%s", l.path[i]);
	return n;
}

/* One text label of a listing's container, without tabs or newlines: "" if absent */
static void label_text(struct json_object *labels, const char *key, char *buf, size_t len)
{
	const char *v = key ? json_str(labels, key) : NULL;

	snprintf(buf, len, "%s", v ? v : "");
	for (char *p = buf; *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
}

static int parse_labelled(const char *body, const char *key, const char *options_key,
			  struct engine_labelled **ret, size_t *ret_n)
{
	_cleanup_(json_object_putp) struct json_object *arr = json_tokener_parse(body);
	struct engine_labelled *out;
	size_t n = 0, len;

	if (!arr || !json_object_is_type(arr, json_type_array))
		return -EBADMSG;
	len = json_object_array_length(arr);
	out = calloc(len ? len : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		struct json_object *ct = json_object_array_get_idx(arr, i), *names, *labels;
		const char *id = json_str(ct, "Id"), *name = NULL;
		struct engine_labelled *e = &out[n];

		if (!id || !json_object_object_get_ex(ct, "Labels", &labels))
			continue;
		if (json_object_object_get_ex(ct, "Names", &names) &&
		    json_object_array_length(names) > 0)
			name = json_object_get_string(json_object_array_get_idx(names, 0));
		snprintf(e->id, sizeof(e->id), "%s", id);
		snprintf(e->name, sizeof(e->name), "%s", !name ? id : name[0] == '/' ? name + 1 :
			 name);
		label_text(labels, key, e->value, sizeof(e->value));
		label_text(labels, options_key, e->options, sizeof(e->options));
		n++;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

/**
 * engine_list_labelled() - the running containers of an engine that carry
 *			    a label
 * @sock_path:	the engine's socket
 * @key:	the label, "nsbridge.bridges"; of [A-Za-z0-9._-] (pairs.c)
 * @options_key: another label whose value comes along, NULL for none
 * @ret:	an array to free(), on success
 * @ret_n:	its length
 *
 * Return: 0, or -errno: the socket could not be asked, or the answer was
 * not understood
 */
int engine_list_labelled(const char *sock_path, const char *key, const char *options_key,
			 struct engine_labelled **ret, size_t *ret_n)
{
	struct http_reply reply;
	char path[256];
	int r;

	/* {"label":["KEY"]} */
	snprintf(path, sizeof(path), "/containers/json?filters=%%7B%%22label%%22%%3A%%5B%%22%s"
		 "%%22%%5D%%7D", key);
	r = http_get(sock_path, path, &reply, NULL);
	if (r < 0)
		return r;
	r = reply.status == 200 ? parse_labelled(reply.body, key, options_key, ret, ret_n) :
				   -EPROTO;
	free(reply.body);
	return r;
}
