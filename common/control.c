// SPDX-License-Identifier: GPL-2.0-or-later
#include "control.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "usb_sysfs.h"
#include "log.h"

struct control_reply {
	size_t len;
	bool error;
	char text[CONTROL_REPLY_MAX];
};

/* Copies one space-separated word; false when it does not fit. */
static bool word(const char **p, const char *end, char *out, size_t out_len)
{
	size_t n = 0;

	while (*p < end && **p != ' ') {
		if (n + 1 >= out_len)
			return false;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	if (*p < end)
		(*p)++; /* the separator */
	return n > 0;
}

int control_parse(const char *text, size_t len, struct control_request *req,
		  char *msg, size_t msg_len)
{
	const char *p = text, *end;
	char verb[16];

	memset(req, 0, sizeof(*req));
	if (!text || len > CONTROL_REQUEST_MAX)
		return log_fail(-EINVAL, msg, msg_len, "request too long");
	if (len && text[len - 1] == '\n')
		len--;
	end = text + len;
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x21 && text[i] != ' ')
			return log_fail(-EINVAL, msg, msg_len,
					"byte 0x%02x in the request",
					(unsigned char)text[i]);
		else if ((unsigned char)text[i] > 0x7e)
			return log_fail(-EINVAL, msg, msg_len,
					"byte 0x%02x in the request",
					(unsigned char)text[i]);
	if (!word(&p, end, verb, sizeof(verb)))
		return log_fail(-EINVAL, msg, msg_len, "no command");
	if (!strcmp(verb, "list"))
		req->verb = CONTROL_LIST;
	else if (!strcmp(verb, "status"))
		req->verb = CONTROL_STATUS;
	else if (!strcmp(verb, "export"))
		req->verb = CONTROL_EXPORT;
	else if (!strcmp(verb, "unexport"))
		req->verb = CONTROL_UNEXPORT;
	else if (!strcmp(verb, "reload"))
		req->verb = CONTROL_RELOAD;
	else if (!strcmp(verb, "serve-fd"))
		req->verb = CONTROL_SERVE_FD;
	else if (!strcmp(verb, "show"))
		req->verb = CONTROL_SHOW;
	else if (!strcmp(verb, "generate-policy"))
		req->verb = CONTROL_GENERATE_POLICY;
	else
		return log_fail(-EINVAL, msg, msg_len, "unknown command '%s'",
				verb);
	if (req->verb == CONTROL_SERVE_FD && p < end) {
		char mode[8];
		/* The Qubes line names a busid: a usbfs node will not do. */
		if (!word(&p, end, mode, sizeof(mode)) || strcmp(mode, "qubes") ||
		    !word(&p, end, req->busid, sizeof(req->busid)) ||
		    !usb_busid_valid(req->busid))
			return log_fail(-EINVAL, msg, msg_len,
					"serve-fd takes nothing or "
					"'qubes BUSID'");
		req->qubes = true;
	}
	if (req->verb == CONTROL_EXPORT || req->verb == CONTROL_UNEXPORT ||
	    req->verb == CONTROL_SHOW) {
		unsigned bus, dev;
		char tail;
		if (!word(&p, end, req->busid, sizeof(req->busid)) ||
		    (!usb_busid_valid(req->busid) &&
		     sscanf(req->busid, "/dev/bus/usb/%3u/%3u%c", &bus, &dev,
			    &tail) != 2))
			return log_fail(
				-EINVAL, msg, msg_len,
				"%s needs a BUSID such as 1-2 or 3-1.4, "
				"or /dev/bus/usb/BBB/DDD",
				verb);
	}
	if (req->verb == CONTROL_EXPORT && p < end &&
	    !word(&p, end, req->address, sizeof(req->address)))
		return log_fail(-EINVAL, msg, msg_len, "address too long");
	/* No address is called "force": every one has a colon. */
	if (req->verb == CONTROL_EXPORT && !strcmp(req->address, "force")) {
		req->force = true;
		req->address[0] = '\0';
	} else if (req->verb == CONTROL_EXPORT && p < end) {
		char flag[8];
		if (!word(&p, end, flag, sizeof(flag)) || strcmp(flag, "force"))
			return log_fail(-EINVAL, msg, msg_len,
					"export takes BUSID [ADDR] [force]");
		req->force = true;
	}
	if (p < end)
		return log_fail(-EINVAL, msg, msg_len,
				"trailing words after %s", verb);
	return 0;
}

struct control_reply *control_reply_new(void)
{
	struct control_reply *r = malloc(sizeof(*r));

	if (r) {
		r->error = false;
		r->len = (size_t)snprintf(r->text, sizeof(r->text), "ok\n");
	}
	return r;
}

void control_reply_free(struct control_reply *r)
{
	free(r);
}

void control_reply_row(struct control_reply *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->error)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
	va_end(ap);
	if (n < 0 || r->len + (size_t)n + 1 >= sizeof(r->text)) {
		control_reply_error(r, "reply too long");
		return;
	}
	r->len += (size_t)n;
	r->text[r->len++] = '\n';
}

void control_reply_error(struct control_reply *r, const char *message)
{
	r->error = true;
	r->len = (size_t)snprintf(r->text, sizeof(r->text), "error\t%s\n",
				  message);
	if (r->len >= sizeof(r->text))
		r->len = sizeof(r->text) - 1;
}

int control_reply_send(const struct control_reply *r, int fd)
{
	return send(fd, r->text, r->len, MSG_NOSIGNAL) < 0 ? -errno : 0;
}
