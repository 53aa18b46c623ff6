// SPDX-License-Identifier: MIT
/*
 * vswapctl: QMP client (see qmp.h).
 *
 * Reading: bytes from the socket go through one json_tokener; each complete
 * top-level object is a message. Leftover bytes after an object (the next
 * message in the same read) stay in rbuf and are parsed on the next call.
 * Invariant: rbuf[rpos .. rlen) is unparsed input; the tokener holds the
 * state of a partially parsed object started before rpos.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

#define QMP_RBUF	65536

struct qmp_event_node {
	struct json_object *ev;
	struct qmp_event_node *next;
};

struct qmp {
	int fd;
	int timeout_ms;			/* for replies; -1 = wait forever */
	struct json_tokener *tok;
	char rbuf[QMP_RBUF];
	size_t rpos, rlen;
	unsigned long next_id;
	struct qmp_event_node *evq_head, **evq_tail;
	char version[64];
	char errclass[64];
};

int qmp_fd(const struct qmp *q)
{
	return q->fd;
}

const char *qmp_qemu_version(const struct qmp *q)
{
	return q->version;
}

static int write_all(int fd, const char *buf, size_t len, struct verr *e)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			verr_set(e, "write: %s", strerror(errno));
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Read one message. Returns 1 with *msg, 0 on timeout, -1 on EOF or error,
 * -2 on EINTR while waiting.
 */
static int read_msg(struct qmp *q, int timeout_ms, struct json_object **msg,
		    struct verr *e)
{
	for (;;) {
		if (q->rpos < q->rlen) {
			size_t avail = q->rlen - q->rpos;
			struct json_object *o;
			enum json_tokener_error jerr;

			o = json_tokener_parse_ex(q->tok, q->rbuf + q->rpos,
						  (int)avail);
			jerr = json_tokener_get_error(q->tok);
			if (jerr == json_tokener_continue) {
				q->rpos = q->rlen;
				continue;
			}
			if (jerr != json_tokener_success) {
				verr_set(e, "bad JSON from QMP peer: %s",
					 json_tokener_error_desc(jerr));
				return -1;
			}
			q->rpos += json_tokener_get_parse_end(q->tok);
			json_tokener_reset(q->tok);
			if (!json_object_is_type(o, json_type_object)) {
				json_object_put(o);
				verr_set(e, "QMP peer sent a non-object message");
				return -1;
			}
			*msg = o;
			return 1;
		}

		/* Need more input. */
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			return -2;
		if (r < 0) {
			verr_set(e, "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		n = read(q->fd, q->rbuf, sizeof(q->rbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			verr_set(e, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			verr_set(e, "connection closed by QEMU");
			return -1;
		}
		q->rpos = 0;
		q->rlen = n;
	}
}

static void queue_event(struct qmp *q, struct json_object *ev)
{
	struct qmp_event_node *n = xcalloc(1, sizeof(*n));

	n->ev = ev;
	*q->evq_tail = n;
	q->evq_tail = &n->next;
}

static int execute_raw(struct qmp *q, const char *cmd, struct json_object *args,
		       int timeout_ms, struct json_object **ret,
		       const char **cls, struct verr *e)
{
	struct json_object *req = json_object_new_object();
	struct json_object *msg, *v;
	char idbuf[32];
	const char *s;
	int r;

	snprintf(idbuf, sizeof(idbuf), "vswapctl-%lu", q->next_id++);
	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_object_add(req, "id", json_object_new_string(idbuf));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	r = write_all(q->fd, s, strlen(s), e);
	if (!r)
		r = write_all(q->fd, "\r\n", 2, e);
	json_object_put(req);
	if (r)
		return -2;

	for (;;) {
		r = read_msg(q, timeout_ms, &msg, e);
		if (r == 0)
			verr_set(e, "no reply to '%s' within %d ms", cmd,
				 timeout_ms);
		if (r == -2)
			verr_set(e, "interrupted waiting for '%s'", cmd);
		if (r <= 0)
			return -2;
		if (json_object_object_get_ex(msg, "event", NULL)) {
			queue_event(q, msg);
			continue;
		}
		/* A reply without our id is not ours (QMP echoes ids). */
		if (json_object_object_get_ex(msg, "id", &v) &&
		    strcmp(json_object_get_string(v), idbuf)) {
			json_object_put(msg);
			continue;
		}
		break;
	}

	r = qmp_unpack_reply(msg, cmd, ret, q->errclass, sizeof(q->errclass), e);
	if (r == -1 && cls)
		*cls = q->errclass;
	json_object_put(msg);
	return r;
}

int qmp_unpack_reply(struct json_object *msg, const char *cmd,
		     struct json_object **ret, char *cls, size_t clslen,
		     struct verr *e)
{
	struct json_object *v, *c, *d;
	const char *klass = "?", *desc = "?";

	if (json_object_object_get_ex(msg, "return", &v)) {
		*ret = json_object_get(v);
		return 0;
	}
	if (!json_object_object_get_ex(msg, "error", &v)) {
		verr_set(e, "reply to '%s' has neither return nor error", cmd);
		return -2;
	}
	if (json_object_object_get_ex(v, "class", &c))
		klass = json_object_get_string(c);
	if (json_object_object_get_ex(v, "desc", &d))
		desc = json_object_get_string(d);
	snprintf(cls, clslen, "%s", klass);
	verr_set(e, "%s (%s)", desc, klass);
	return -1;
}

int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		struct json_object **ret, const char **cls, struct verr *e)
{
	return execute_raw(q, cmd, args, q->timeout_ms, ret, cls, e);
}

int qmp_execute_wait(struct qmp *q, const char *cmd, struct json_object *args,
		     struct json_object **ret, const char **cls,
		     struct verr *e)
{
	return execute_raw(q, cmd, args, -1, ret, cls, e);
}

/*
 * connect(2) within @timeout_ms. QEMU's QMP socket serves one client at a
 * time and listens with a backlog of 1: while another client holds it, a
 * blocking connect waits without limit once the backlog is full. A
 * non-blocking one to a full unix listener fails with EAGAIN at once (it
 * cannot be polled for), so retry until the deadline.
 */
static int connect_within(int fd, const struct sockaddr_un *sa,
			  int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL), r, waited = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return -1;
	while ((r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) &&
	       errno == EAGAIN && waited < timeout_ms) {
		poll(NULL, 0, 50);
		waited += 50;
	}
	if (r && errno == EAGAIN)
		errno = ETIMEDOUT;
	if (!r && fcntl(fd, F_SETFL, flags))
		return -1;
	return r;
}

struct qmp *qmp_open(const char *path, int timeout_ms, struct verr *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct json_object *greet, *v, *ret = NULL;
	struct qmp *q;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		verr_set(e, "%s: socket path too long", path);
		return NULL;
	}
	strcpy(sa.sun_path, path);

	q = xcalloc(1, sizeof(*q));
	q->timeout_ms = timeout_ms;
	q->evq_tail = &q->evq_head;
	q->tok = json_tokener_new();
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		verr_set(e, "%s: socket: %s", path, strerror(errno));
		goto fail;
	}
	if (connect_within(q->fd, &sa, timeout_ms)) {
		verr_set(e, "%s: cannot connect: %s%s", path, strerror(errno),
			 errno == ETIMEDOUT ? " (the monitor is busy: a QMP "
			 "socket serves one client at a time)" : "");
		goto fail;
	}

	r = read_msg(q, timeout_ms, &greet, e);
	if (r <= 0) {
		if (r == 0)
			verr_set(e, "no QMP greeting within %d ms (the monitor "
				 "is busy: a QMP socket serves one client at a "
				 "time)", timeout_ms);
		if (r == -2)
			verr_set(e, "interrupted waiting for the greeting");
		verr_prefix(e, "%s", path);
		goto fail;
	}
	if (!json_object_object_get_ex(greet, "QMP", &v)) {
		json_object_put(greet);
		verr_set(e, "%s: not a QMP socket (no greeting)", path);
		goto fail;
	}
	{
		struct json_object *ver, *qemu, *ma, *mi, *mc;

		if (json_object_object_get_ex(v, "version", &ver) &&
		    json_object_object_get_ex(ver, "qemu", &qemu) &&
		    json_object_object_get_ex(qemu, "major", &ma) &&
		    json_object_object_get_ex(qemu, "minor", &mi) &&
		    json_object_object_get_ex(qemu, "micro", &mc))
			snprintf(q->version, sizeof(q->version), "%d.%d.%d",
				 json_object_get_int(ma),
				 json_object_get_int(mi),
				 json_object_get_int(mc));
	}
	json_object_put(greet);

	if (execute_raw(q, "qmp_capabilities", NULL, timeout_ms, &ret, NULL,
			e)) {
		verr_prefix(e, "%s: qmp_capabilities", path);
		goto fail;
	}
	json_object_put(ret);
	return q;
fail:
	qmp_close(q);
	return NULL;
}

void qmp_close(struct qmp *q)
{
	struct qmp_event_node *n, *next;

	if (!q)
		return;
	for (n = q->evq_head; n; n = next) {
		next = n->next;
		json_object_put(n->ev);
		free(n);
	}
	if (q->fd >= 0)
		close(q->fd);
	json_tokener_free(q->tok);
	free(q);
}

int qmp_next_event(struct qmp *q, int timeout_ms, struct json_object **ev,
		   struct verr *e)
{
	struct qmp_event_node *n = q->evq_head;
	struct json_object *msg;
	int r;

	if (n) {
		q->evq_head = n->next;
		if (!q->evq_head)
			q->evq_tail = &q->evq_head;
		*ev = n->ev;
		free(n);
		return 1;
	}
	for (;;) {
		r = read_msg(q, timeout_ms, &msg, e);
		if (r <= 0)
			return r == 0 ? 0 : r;
		if (json_object_object_get_ex(msg, "event", NULL)) {
			*ev = msg;
			return 1;
		}
		json_object_put(msg);	/* a stray reply: not an event */
	}
}
