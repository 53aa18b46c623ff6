/* SPDX-License-Identifier: MIT */
/*
 * vswapctl: a small QMP client over a unix socket.
 *
 * qmp_open() connects, reads the greeting and negotiates capabilities, so a
 * returned client is in command mode. Messages are JSON objects; framing is
 * json-c's streaming tokener over the byte stream (QMP ends each message with
 * CRLF, which the tokener skips as whitespace).
 *
 * Events that arrive while a command waits for its reply are queued, in
 * order, and handed out by qmp_next_event(); they are never lost or mistaken
 * for a reply. One client serves one thread; it holds no global state.
 */
#ifndef VSWAPCTL_QMP_H
#define VSWAPCTL_QMP_H

#include <json-c/json.h>

#include "util.h"

struct qmp;

/* Connect to @path and enter command mode; NULL and *e on failure. */
struct qmp *qmp_open(const char *path, int timeout_ms, struct verr *e);
void qmp_close(struct qmp *q);

/* The socket, for poll(): readable means qmp_next_event() won't block long. */
int qmp_fd(const struct qmp *q);

/*
 * Run @cmd with @args (borrowed; NULL = none). On success returns 0 and
 * *ret holds the "return" value (caller puts it). On a QMP error returns -1,
 * *e = "<desc> (<class>)" and, if @cls is non-NULL, *cls the error class
 * ("CommandNotFound", "GenericError", ...; valid until the next call).
 * On a transport error returns -2 with *e set.
 */
int qmp_execute(struct qmp *q, const char *cmd, struct json_object *args,
		struct json_object **ret, const char **cls, struct verr *e);

/*
 * qmp_execute() without a reply timeout, for commands that reply when
 * their work is done (vswap-writeback, vswap-compact: as long as the data
 * they move). A signal ends the wait: -2 with *e.
 */
int qmp_execute_wait(struct qmp *q, const char *cmd, struct json_object *args,
		     struct json_object **ret, const char **cls,
		     struct verr *e);

/*
 * Next event: from the queue, else wait up to @timeout_ms (-1 = forever) for
 * one. Returns 1 and *ev (caller puts it), 0 on timeout, -1 on EOF or error
 * (with *e), -2 if interrupted by a signal.
 */
int qmp_next_event(struct qmp *q, int timeout_ms, struct json_object **ev,
		   struct verr *e);

/*
 * Interpret a QMP reply object @msg (borrowed) the way qmp_execute() does:
 * 0 and *ret for "return"; -1, *e and the class in @cls for "error"; -2 for
 * anything else. For monitors reached another way (libvirt).
 */
int qmp_unpack_reply(struct json_object *msg, const char *cmd,
		     struct json_object **ret, char *cls, size_t clslen,
		     struct verr *e);

/* The greeting's "QMP"."version"."qemu" as "10.0.13", or "". */
const char *qmp_qemu_version(const struct qmp *q);

#endif /* VSWAPCTL_QMP_H */
